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

function bulk(n) {
  const q = fresh();
  const data = payloads(n);
  const t0 = process.hrtime.bigint();
  const { ids } = q.addMany("enrich", data);
  const s = seconds(t0);
  q.close();
  if (ids.length !== n) throw new Error("addMany: wrong count");
  return n / s;
}

function one(n) {
  const q = fresh();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) q.add("enrich", { i });
  const s = seconds(t0);
  q.close();
  return n / s;
}

function cycles(n) {
  const q = fresh();
  q.addMany("noop", payloads(n + WARMUP + 100));
  let t0 = 0n;
  for (let i = -WARMUP; i < n; i++) {
    if (i === 0) t0 = process.hrtime.bigint();
    const job = q.getAndMarkJobAsProcessing("noop");
    if (job === undefined) throw new Error("nothing to claim");
    q.markJobAsDone(job.id);
  }
  const s = seconds(t0);
  q.close();
  return n / s;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Warm up V8's JIT and the native module on small runs, so rep 1 is not an outlier.
bulk(20000);
one(2000);
cycles(2000);
const out = { pj_bulk: [], pj_one: [], pj_cycles: [] };
for (let r = 0; r < REPS; r++) {
  out.pj_bulk.push(bulk(BULK_N));
  out.pj_one.push(one(ONE_N));
  out.pj_cycles.push(cycles(CYCLES));
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
