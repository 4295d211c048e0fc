// The PostgreSQL peers beside jobq (bench/pg.sh): graphile-worker and pg-boss on the same
// cluster, one measurement per node process, figures as "KEY VALUE" lines on stdout.
//
// usage: DATABASE_URL=postgres://... node bench/pg/peer.mjs PEER MODE '{"n":10000,...}'
//   PEER  graphile | pgboss   (each in its own database of the cluster: bench/pg.sh makes them)
//   MODE
//     reset    install/migrate the peer's schema, empty its queue (every other mode starts so)
//     enqueue  {n}: one bulk enqueue of n no-op jobs, timed (graphile: WorkerUtils.addJobs(), one
//              statement; pg-boss: insert([...]), one statement) -> enqueue_rate, enqueue_ms
//     cycles   {n, m, procs, limit}: n no-op jobs enqueued untimed, then `procs` worker processes
//              are started, told "go" at once, and take and complete jobs until m of them are
//              done or `maxs` seconds have passed -> cycles_rate (jobs done / time from go; the
//              queue holds n..n-m jobs meanwhile), cycles_done. graphile: run() with concurrency 1 per
//              process (no public fetch/complete API); pg-boss: a fetch()/complete() loop, one job
//              a call. limit 1: graphile's job queue (queueName: its jobs run one at a time),
//              pg-boss's "singleton" queue policy (one active job at a time); limit 0: none.
//     drain    {n, procs, batch}: n jobs enqueued untimed, then `procs` fresh node processes run
//              the peer's own worker until the queue is empty; timed from the first process
//              spawned to all jobs done (graphile: runOnce(), concurrency 1, the processes exit by
//              themselves; pg-boss: start() + work() with batchSize `batch`, done when no job is
//              left unfinished) -> drain_rate, drain_ms
//     wake     {samples, gap}: one idle worker process (graphile: run(), LISTEN/NOTIFY; pg-boss:
//              work(), batchSize 1, pollingIntervalSeconds 0.5, its minimum: pg-boss polls), one
//              job enqueued at a time `gap` ms after the previous one started; time from the
//              enqueue call's return to the handler's first line -> wake_p50_ms, wake_p95_ms
// Clock: process.hrtime (CLOCK_MONOTONIC), the same in every process of the machine.
// "Done" is read from the database (graphile deletes completed jobs; pg-boss keeps them with
// state completed): the driver polls a count every POLL_MS (50) ms, a cost kept small on
// purpose (a count of 10k rows takes a millisecond or two of a server core).
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

const require = createRequire(import.meta.url);
const script = fileURLToPath(import.meta.url);
const connectionString = process.env.DATABASE_URL;
const POLL_MS = 50;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const out = (k, v) => process.stdout.write(`${k} ${v}\n`);
const log = (...a) => process.stderr.write(`pg-peer: ${a.join(" ")}\n`);

// Nearest rank, as bench/common.c.
function percentile(values, p) {
	const v = [...values].sort((a, b) => a - b);
	if (!v.length) return 0;
	return v[Math.min(v.length - 1, Math.floor((p / 100) * (v.length - 1) + 0.5))];
}

// ---- graphile-worker --------------------------------------------------------------------------
function graphile() {
	const gw = require("graphile-worker");
	const logger = new gw.Logger(() => (level, message) => {
		if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
	});
	process.env.NO_LOG_SUCCESS = "1";
	const base = { connectionString, logger, noHandleSignals: true };
	const taskList = (hook) => ({
		noop: async (payload) => {
			hook?.(payload);
		},
	});
	return {
		name: "graphile-worker",
		async open() {
			return { utils: await gw.makeWorkerUtils({ connectionString, logger }) };
		},
		async reset(c) {
			await gw.runMigrations({ connectionString, logger });
			await c.utils.withPgClient(async (pg) => {
				await pg.query("delete from graphile_worker._private_jobs");
				await pg.query("delete from graphile_worker._private_job_queues");
				await pg.query("vacuum analyze graphile_worker._private_jobs");
				await pg.query("vacuum analyze graphile_worker._private_job_queues");
			});
		},
		async enqueue(c, n, limit) {
			const specs = [];
			for (let i = 0; i < n; i++) specs.push(limit ? { identifier: "noop", payload: {}, queueName: "serial" } : { identifier: "noop", payload: {} });
			await c.utils.addJobs(specs);
		},
		async enqueueOne(c, data) {
			await c.utils.addJob("noop", data);
		},
		async pending(c) {
			const r = await c.utils.withPgClient((pg) => pg.query("select count(*)::int as n from graphile_worker._private_jobs"));
			return r.rows[0].n;
		},
		async close(c) {
			await c.utils.release();
		},
		// Worker side (in the child processes).
		async cycles() {
			const runner = await gw.run({ ...base, concurrency: 1, pollInterval: 2000, taskList: taskList() });
			return () => runner.stop();
		},
		async drain() {
			await gw.runOnce({ ...base, concurrency: 1, taskList: taskList() });
			return null; // done: the process exits
		},
		async wake(o, hook) {
			const runner = await gw.run({ ...base, concurrency: 1, pollInterval: 2000, taskList: taskList(hook) });
			return () => runner.stop();
		},
	};
}

// ---- pg-boss ----------------------------------------------------------------------------------
function pgboss() {
	const PgBoss = require("pg-boss");
	const Q = "noop", QL = "noop_limited";
	const start = async (extra = {}) => {
		const boss = new PgBoss({ connectionString, max: 4, supervise: false, schedule: false, ...extra });
		boss.on("error", (e) => log(`pg-boss error: ${e.message}`));
		await boss.start();
		return boss;
	};
	return {
		name: "pg-boss",
		async open() {
			return { boss: await start({ migrate: true }) };
		},
		async reset(c) {
			for (const [q, policy] of [
				[Q, "standard"],
				[QL, "singleton"],
			]) {
				if (!(await c.boss.getQueue(q))) await c.boss.createQueue(q, { policy });
			}
			await c.boss.getDb().executeSql("delete from pgboss.job");
			await c.boss.getDb().executeSql("delete from pgboss.archive");
			await c.boss.getDb().executeSql("vacuum analyze pgboss.job");
		},
		async enqueue(c, n, limit) {
			const jobs = [];
			for (let i = 0; i < n; i++) jobs.push({ name: limit ? QL : Q, data: {} });
			await c.boss.insert(jobs);
		},
		async enqueueOne(c, data) {
			await c.boss.send(Q, data);
		},
		async pending(c) {
			const r = await c.boss.getDb().executeSql("select count(*)::int as n from pgboss.job where state < 'completed'");
			return r.rows[0].n;
		},
		async close(c) {
			await c.boss.stop({ graceful: false, wait: true });
		},
		async cycles(o) {
			const boss = await start();
			const q = o.limit ? QL : Q;
			let stopping = false;
			return {
				async go() {
					while (!stopping) {
						const [job] = await boss.fetch(q);
						if (job) await boss.complete(q, job.id);
						else await sleep(0); // another process holds the singleton: yield, fetch again
					}
				},
				stop: async () => {
					stopping = true;
					await sleep(50);
					await boss.stop({ graceful: false, wait: true });
				},
			};
		},
		async drain(o) {
			const boss = await start();
			await boss.work(Q, { batchSize: o.batch, pollingIntervalSeconds: 0.5 }, async () => {});
			return () => boss.stop({ graceful: false, wait: true });
		},
		async wake(o, hook) {
			const boss = await start();
			await boss.work(Q, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
				hook(job.data);
			});
			return () => boss.stop({ graceful: false, wait: true });
		},
	};
}

const peers = { graphile, pgboss };

// ---- child: one worker process ----------------------------------------------------------------
async function child(peerName, mode, o) {
	const p = peers[peerName]();
	process.on("disconnect", () => process.exit(0));
	const hook = (data) => {
		const at = nowUs();
		if (data && data.w !== undefined) process.send({ type: "start", w: data.w, at });
	};
	if (mode === "drain") {
		const stop = await p.drain(o);
		if (!stop) process.exit(0);
		process.on("message", async (m) => {
			if (m.type === "stop") {
				await stop();
				process.exit(0);
			}
		});
		return;
	}
	if (mode === "cycles" && peerName === "pgboss") {
		const w = await p.cycles(o);
		process.on("message", async (m) => {
			if (m.type === "go") w.go().catch(() => {});
			else if (m.type === "stop") {
				await w.stop();
				process.exit(0);
			}
		});
		process.send({ type: "ready" });
		return;
	}
	let stop = null;
	process.on("message", async (m) => {
		if (m.type === "go") stop = mode === "cycles" ? await p.cycles(o) : stop;
		else if (m.type === "stop") {
			if (stop) await stop();
			process.exit(0);
		}
	});
	if (mode === "wake") stop = await p.wake(o, hook);
	process.send({ type: "ready" });
}

// ---- driver -----------------------------------------------------------------------------------
async function driver(peerName, mode, o) {
	const p = peers[peerName]();
	const deadline = Date.now() + (o.timeout ?? 240) * 1000;
	const children = [];
	process.on("exit", () => children.forEach((c) => c.exitCode === null && c.kill("SIGKILL")));
	const check = (what) => {
		if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
	};
	const spawn = (msgs) => {
		const c = fork(script, ["child", peerName, mode, JSON.stringify(o)], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
		c.exited = new Promise((resolve) => c.once("exit", resolve));
		c.on("message", (m) => msgs?.(m));
		children.push(c);
		return c;
	};
	const waitFor = async (cond, what) => {
		while (!(await cond())) {
			check(what);
			await sleep(POLL_MS);
		}
	};
	const stopAll = async () => {
		for (const c of children) if (c.exitCode === null && c.connected) c.send({ type: "stop" });
		await Promise.race([Promise.all(children.map((c) => c.exited)), sleep(8000)]);
	};

	const c = await p.open();
	await p.reset(c);
	if (mode === "reset") {
		await p.close(c);
		return;
	}
	if (mode === "enqueue") {
		const t0 = nowUs();
		await p.enqueue(c, o.n, 0);
		const ms = (nowUs() - t0) / 1000;
		if ((await p.pending(c)) !== o.n) throw new Error("enqueue: not every job is in the queue");
		out("enqueue_ms", ms.toFixed(1));
		out("enqueue_rate", Math.round((o.n * 1000) / ms));
	} else if (mode === "cycles") {
		await p.enqueue(c, o.n, o.limit);
		let ready = 0;
		for (let i = 0; i < o.procs; i++)
			spawn((m) => {
				if (m.type === "ready") ready++;
			});
		await waitFor(() => ready === o.procs, "workers not ready");
		const t0 = nowUs();
		for (const ch of children) ch.send({ type: "go" });
		let left = o.n;
		await waitFor(async () => (left = await p.pending(c)) <= o.n - o.m || nowUs() - t0 > o.maxs * 1e6, "cycles: not done");
		const ms = (nowUs() - t0) / 1000;
		out("cycles_ms", ms.toFixed(1));
		out("cycles_done", o.n - left);
		out("cycles_rate", ((o.n - left) * 1000 / ms).toFixed(1));
		await stopAll();
	} else if (mode === "drain") {
		await p.enqueue(c, o.n, 0);
		const t0 = nowUs();
		for (let i = 0; i < o.procs; i++) spawn();
		await waitFor(async () => (await p.pending(c)) === 0, "drain: queue not empty");
		if (peerName === "graphile") await Promise.all(children.map((ch) => ch.exited)); // runOnce exits when done
		const ms = (nowUs() - t0) / 1000;
		out("drain_ms", ms.toFixed(1));
		out("drain_rate", Math.round((o.n * 1000) / ms));
		await stopAll();
	} else if (mode === "wake") {
		const starts = new Map();
		let ready = false;
		spawn((m) => {
			if (m.type === "ready") ready = true;
			else if (m.type === "start") starts.get(m.w)?.(m.at);
		});
		await waitFor(() => ready, "worker not ready");
		await sleep(300); // the worker idles (LISTENing / between polls) before the first job
		const lat = [];
		for (let i = 0; i < o.samples; i++) {
			await sleep(o.gap + Math.random() * o.gap); // not in step with a poller's period
			const started = new Promise((resolve) => starts.set(i, resolve));
			await p.enqueueOne(c, { w: i });
			const b = nowUs();
			const at = await Promise.race([started, sleep(Math.max(0, deadline - Date.now())).then(() => null)]);
			if (at === null) throw new Error(`timeout: wake-up job ${i} not started`);
			starts.delete(i);
			lat.push((at - b) / 1000);
		}
		out("wake_p50_ms", percentile(lat, 50).toFixed(3));
		out("wake_p95_ms", percentile(lat, 95).toFixed(3));
		out("wake_max_ms", percentile(lat, 100).toFixed(3));
		await stopAll();
	} else throw new Error(`unknown mode ${mode}`);
	await p.close(c);
}

try {
	if (process.argv[2] === "child") await child(process.argv[3], process.argv[4], JSON.parse(process.argv[5]));
	else {
		const [peerName, mode, json] = process.argv.slice(2);
		if (!peers[peerName]) throw new Error(`unknown peer ${peerName} (graphile | pgboss)`);
		await driver(peerName, mode, { n: 10000, m: 2000, maxs: 10, procs: 1, limit: 0, batch: 500, samples: 50, gap: 20, ...JSON.parse(json ?? "{}") });
		process.exit(0);
	}
} catch (e) {
	log(`${process.argv.slice(2, 5).join(" ")}: ${e && e.stack ? e.stack : e}`);
	process.exit(1);
}
