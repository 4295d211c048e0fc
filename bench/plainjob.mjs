// plainjob (SQLite job queue for Node.js on better-sqlite3), measured the way bench_enqueue and
// bench_claim measure jobq: bulk enqueue (addMany: one transaction), one by one (add: a
// transaction each), and claim+complete cycles (getAndMarkJobAsProcessing: one IMMEDIATE
// transaction; markJobAsDone: one autocommit UPDATE). Fresh database for each measurement;
// repetitions interleaved with nothing else; the median is printed as "KEY VALUE" lines.
//
// usage: node bench/plainjob.mjs DIR   (env BULK_N, ONE_N, CYCLES, REPS)
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { better, defineQueue } from "plainjob";

const dir = process.argv[2];
const BULK_N = Number(process.env.BULK_N || 200000);
const ONE_N = Number(process.env.ONE_N || 20000);
const CYCLES = Number(process.env.CYCLES || 20000);
const REPS = Number(process.env.REPS || 3);
const WARMUP = 200;
const silent = { error() {}, warn() {}, info() {}, debug() {} };
const dbPath = path.join(dir, "plainjob.db");

function fresh() {
  for (const s of ["", "-wal", "-shm"]) fs.rmSync(dbPath + s, { force: true });
  return defineQueue({ connection: better(new Database(dbPath)), logger: silent });
}

function seconds(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function payloads(n) {
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = { i };
  return a;
}

function bulk() {
  const q = fresh();
  const data = payloads(BULK_N);
  const t0 = process.hrtime.bigint();
  const { ids } = q.addMany("enrich", data);
  const s = seconds(t0);
  q.close();
  if (ids.length !== BULK_N) throw new Error("addMany: wrong count");
  return BULK_N / s;
}

function one() {
  const q = fresh();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ONE_N; i++) q.add("enrich", { i });
  const s = seconds(t0);
  q.close();
  return ONE_N / s;
}

function cycles() {
  const q = fresh();
  q.addMany("noop", payloads(CYCLES + WARMUP + 100));
  let t0 = 0n;
  for (let i = -WARMUP; i < CYCLES; i++) {
    if (i === 0) t0 = process.hrtime.bigint();
    const job = q.getAndMarkJobAsProcessing("noop");
    if (job === undefined) throw new Error("nothing to claim");
    q.markJobAsDone(job.id);
  }
  const s = seconds(t0);
  q.close();
  return CYCLES / s;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const out = { pj_bulk: [], pj_one: [], pj_cycles: [] };
for (let r = 0; r < REPS; r++) {
  out.pj_bulk.push(bulk());
  out.pj_one.push(one());
  out.pj_cycles.push(cycles());
  process.stderr.write(
    `  plainjob rep ${r + 1}/${REPS}: bulk ${out.pj_bulk[r].toFixed(0)} jobs/s, one ` +
      `${out.pj_one[r].toFixed(0)} jobs/s, cycles ${out.pj_cycles[r].toFixed(0)}/s\n`
  );
}
for (const [k, v] of Object.entries(out)) {
  console.log(`${k} ${median(v)}`);
  console.log(`${k}_min ${Math.min(...v)}`);
  console.log(`${k}_max ${Math.max(...v)}`);
}
const db = new Database(":memory:");
console.log(`pj_sqlite_version ${db.prepare("select sqlite_version() v").get().v}`);
db.close();
for (const s of ["", "-wal", "-shm"]) fs.rmSync(dbPath + s, { force: true });
