#!/usr/bin/env bash
# The man pages: docs/jobq.1.scd and docs/jobq.json.5.scd build with scdoc into pages groff
# reads without a warning, and name everything the binary and the reference docs name: every
# command (`jobq help --commands`, the sections of docs/cli.md) with each of its options (its
# help, its option table in docs/cli.md), the global options, the exit codes, the environment,
# the keys of a job object, and every configuration key (the key tables of
# docs/configuration.md, the key lists of core/config.c).
source "$JOBQ_SRC/tests/e2e/lib.sh" || exit 1
sqlite_only "no database involved, the same on both backends (runs once)"

for tool in scdoc groff python3; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh test)"
done
man1=$JOBQ_SRC/docs/jobq.1.scd
man5=$JOBQ_SRC/docs/jobq.json.5.scd

# They build, and groff finds nothing wrong in them.
for src in "$man1" "$man5"; do
	page=$(basename "$src" .scd)
	scdoc <"$src" >"$page" 2>scdoc.err || fail "scdoc $src: $(cat scdoc.err)"
	warnings=$(groff -ww -man -z "$page" 2>&1) || fail "groff $page failed: $warnings"
	[ -z "$warnings" ] || fail "groff $page: $warnings"
	# meson's page (when built) is the same
	if [ -f "$JOBQ_BUILD/docs/$page" ]; then
		cmp -s "$page" "$JOBQ_BUILD/docs/$page" || fail "$JOBQ_BUILD/docs/$page is stale"
	fi
done
# meson installs them in section 1 and 5 of the manual.
installed=$(meson introspect --installed "$JOBQ_BUILD") || fail "meson introspect --installed"
for page in man1/jobq.1 man5/jobq.json.5; do
	jq -e --arg f "$JOBQ_BUILD/docs/${page#*/}" --arg to "/share/man/$page" \
		'.[$f] // "" | endswith($to)' <<<"$installed" >/dev/null ||
		fail "meson does not install docs/${page#*/} into share/man/$page (-Dman=disabled, or no scdoc?)"
done
head -1 jobq.1 | grep -q '^\.\\"' || fail "jobq.1 is not a man page"

# What the binary knows: its commands, each one's help, its global options.
expect_code 0 jobq help --commands
commands=$OUT
mkdir helps
for c in $commands; do
	jobq help "$c" >"helps/$c" || fail "jobq help $c"
done
jobq --help >helps/-global

cat >check.py <<'PY'
import os, re, sys

src, man1_path, man5_path, helps = sys.argv[1:]
man1 = open(man1_path).read()
man5 = open(man5_path).read()
cli = open(os.path.join(src, "docs/cli.md")).read()
conf = open(os.path.join(src, "docs/configuration.md")).read()
config_c = open(os.path.join(src, "core/config.c")).read()
missing = []

def sections(text, level):
    """{title: body} of the markdown/scdoc sections '## title' (level 2) or '# title' (1)."""
    mark = "#" * level + " "
    out, title = {}, None
    for line in text.splitlines():
        if re.match(r"#{1,%d} " % level, line):
            title = line[len(mark):].strip() if line.startswith(mark) else None
            if title is not None:
                out[title] = ""
        elif title is not None:
            out[title] += line + "\n"
    return out

def table_first_column(text, header):
    """The backquoted names of the first column of the markdown tables whose header is
    'header', in text."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith("| " + header + " |"):
            inside = True
            continue
        if not line.startswith("|"):
            inside = False
            continue
        if inside and not line.startswith("|---"):
            names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names

def long_options(text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text))

man1_cmds = sections(man1, 2)
man1_top = sections(man1, 1)
cli_cmds = {t: b for t, b in sections(cli, 2).items() if re.fullmatch(r"[a-z]+", t)}
binary_cmds = sorted(f for f in os.listdir(helps) if not f.startswith("-"))

# Every command, in the man page and in docs/cli.md.
for c in sorted(set(binary_cmds) | set(cli_cmds)):
    if c not in man1_cmds:
        missing.append(f"jobq.1: no section '## {c}' (command of "
                       + ("the binary" if c in binary_cmds else "docs/cli.md") + ")")
    if c not in cli_cmds:
        missing.append(f"docs/cli.md: no section '## {c}' (command of the binary)")
    if c not in binary_cmds:
        missing.append(f"the binary has no command '{c}' (docs/cli.md documents it)")

# Every option of each command: its help (usage and Options:) and its table in docs/cli.md.
common = {"--json", "--quiet", "--verbose", "--help"}
for c in binary_cmds:
    body = man1_cmds.get(c, "")
    help_text = open(os.path.join(helps, c)).read()
    usage = help_text.split("\n\n")[0]
    opts_block = re.search(r"^Options:\n((?:.+\n)*)", help_text, re.M)
    opts = long_options(usage) | long_options(opts_block.group(1) if opts_block else "")
    opts |= set(o for o in long_options(" ".join(table_first_column(cli_cmds.get(c, ""), "option"))))
    for o in sorted(opts - common):
        if f"*{o}*" not in body:
            missing.append(f"jobq.1: '## {c}' does not name *{o}*")

# Global options, exit codes, environment, job object keys.
for o in sorted(long_options(open(os.path.join(helps, "-global")).read().split("Global options:")[1].split("\n\n")[0])):
    if f"*{o}*" not in man1_top.get("GLOBAL OPTIONS", ""):
        missing.append(f"jobq.1: GLOBAL OPTIONS does not name *{o}*")
for code in re.findall(r"^\| (\d+) \|", cli, re.M):
    if f"*{code}*" not in man1_top.get("EXIT STATUS", ""):
        missing.append(f"jobq.1: EXIT STATUS has no *{code}*")
for var in table_first_column(cli, "variable"):
    if f"*{var}*" not in man1_top.get("ENVIRONMENT", ""):
        missing.append(f"jobq.1: ENVIRONMENT has no *{var}*")
job_keys = []
for line in cli[cli.index("**Job objects.**"):].splitlines()[4:]:
    if not line.startswith("|"):
        break
    job_keys += re.findall(r"`([a-z_]+)`", line.split("|")[1])
if len(job_keys) < 20:
    missing.append(f"docs/cli.md: only {len(job_keys)} job object keys found")
conventions = man1_top.get("CONVENTIONS", "")
for k in job_keys:
    if not re.search(r"\b%s\b" % k, conventions):
        missing.append(f"jobq.1: CONVENTIONS does not list the job object key '{k}'")

# Every configuration key: the key tables of docs/configuration.md and the lists of keys
# core/config.c accepts, each defined in jobq.json(5) by a line '*key* (...)'.
doc_keys = set(table_first_column(conf, "key"))
code_keys = set()
for block in re.findall(r"keys\[\]\s*=\s*\{(.*?)\}", config_c, re.S):
    code_keys |= set(re.findall(r'"([a-z_]+)"', block))
if len(code_keys) < 20 or len(doc_keys) < 20:
    missing.append(f"found only {len(code_keys)} keys in core/config.c, {len(doc_keys)} in docs/configuration.md")
defined = set(re.findall(r"^\*([a-z_]+)\* \(", man5, re.M))
for k in sorted(doc_keys | code_keys):
    if k not in defined:
        where = [w for w, s in (("docs/configuration.md", doc_keys), ("core/config.c", code_keys)) if k in s]
        missing.append(f"jobq.json.5: no definition '*{k}* (...)' of the key '{k}' ({', '.join(where)})")
    if k not in doc_keys and not re.search(r'["`]%s["`]' % k, conf):
        missing.append(f"docs/configuration.md: no table row for the key '{k}' (core/config.c accepts it)")

for m in missing:
    print("missing:", m, file=sys.stderr)
sys.exit(1 if missing else 0)
PY

python3 check.py "$JOBQ_SRC" "$man1" "$man5" helps || fail "the man pages miss what is listed above"

# The check fails on a page that loses a command, an option or a configuration key.
sed '/^## prune$/,/^## help$/{/^## help$/!d}' "$man1" >no-prune.scd
sed 's/^\*--unique-for\* _DUR_$/--unique-for _DUR_/' "$man1" >no-unique-for.scd
sed 's/^\*stderr_max\* (/stderr_max (/' "$man5" >no-stderr-max.scd
expect_code 1 python3 check.py "$JOBQ_SRC" no-prune.scd "$man5" helps
assert_contains "$ERR" "no section '## prune'"
expect_code 1 python3 check.py "$JOBQ_SRC" no-unique-for.scd "$man5" helps
assert_contains "$ERR" "'## enqueue' does not name *--unique-for*"
expect_code 1 python3 check.py "$JOBQ_SRC" "$man1" no-stderr-max.scd helps
assert_contains "$ERR" "no definition '*stderr_max* (...)'"
echo ok
