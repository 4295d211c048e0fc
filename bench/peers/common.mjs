// What the peer benchmarks share (bench/peers.sh runs them): a clock shared by every process of
// the machine, the driver (forks the worker processes, enqueues, collects the figures) and the
// worker side (counts jobs, reports handler start times).
//
// Clock: process.hrtime.bigint() is libuv's uv_hrtime(), CLOCK_MONOTONIC on Linux: the same
// clock in every process (and the one bench/bench_wake.c and jobq's own code use), with
// nanosecond resolution. Times cross processes as microseconds in plain numbers.
//
// Driver output (stdout): "KEY VALUE" lines, as the other benchmarks print them.
//   rate            no-op jobs/s: jobs / (last completion - first handler start)
//   window_ms       that denominator; enqueue_ms: the one bulk enqueue call
//   tail_ms         a check for peers with a pending() count (graphile-worker): how long after
//                   the last counted completion the queue was still seen non-empty (0 when it
//                   was empty at once); it is added to the window
//   rss_kb, hwm_kb  VmRSS and VmHWM of the worker process with the largest VmRSS, read from
//                   /proc after the no-op run; procs: how many worker processes
//   wake_p50_ms, wake_p99_ms, wake_max_ms   enqueue call returned -> handler started
//   wakecall_p50_ms, wakecall_p99_ms        enqueue call made -> handler started
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export function log(...a) {
	process.stderr.write(`peers: ${a.join(" ")}\n`);
}

export function result(key, value) {
	process.stdout.write(`${key} ${value}\n`);
}

// The same percentile as bench/common.c: nearest rank on the sorted values.
export function percentile(values, p) {
	const v = [...values].sort((a, b) => a - b);
	if (v.length === 0) return 0;
	const i = Math.floor((p / 100) * (v.length - 1) + 0.5);
	return v[Math.min(i, v.length - 1)];
}

function procStatus(pid) {
	const out = {};
	try {
		for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
			const m = /^(VmRSS|VmHWM|RssAnon):\s+(\d+) kB/.exec(line);
			if (m) out[m[1]] = Number(m[2]);
		}
	} catch {
		/* gone */
	}
	return out;
}

// ---- worker side --------------------------------------------------------------------------
// startWorker(opts, hooks) starts the peer's worker and resolves to { stop() } once it is ready.
// The handler calls hooks.start(data) first thing; the peer calls hooks.done(data) when it
// reports the job complete.
export async function workerMain(startWorker) {
	const opts = JSON.parse(process.argv[3]);
	const st = { count: 0, first: 0, last: 0 };
	const hooks = {
		start(data) {
			const t = nowUs();
			if (data && data.w !== undefined) process.send({ type: "start", w: data.w, at: t });
			else if (st.first === 0) st.first = t;
		},
		done(data) {
			if (data && data.w !== undefined) return;
			st.count++;
			st.last = nowUs();
		},
	};
	process.on("disconnect", () => process.exit(0)); // the driver is gone
	const w = await startWorker(opts, hooks);
	process.on("message", async (m) => {
		if (m.type === "stats") process.send({ type: "stats", ...st });
		else if (m.type === "stop") {
			const timer = setTimeout(() => process.exit(0), 5000);
			timer.unref();
			try {
				await w.stop();
			} finally {
				process.exit(0);
			}
		}
	});
	process.send({ type: "ready", pid: process.pid });
}

// ---- driver side --------------------------------------------------------------------------
// backend: { prepare(o) -> ctx, enqueueBulk(ctx, n), enqueueOne(ctx, data), pending(ctx) ->
// number or null (jobs still in the queue, when completion is not awaited), close(ctx) }.
// o: { script, n, procs, concurrency, wake, gap, timeout, ...peer-specific settings }.
export async function driverMain(backend, o) {
	const deadline = Date.now() + o.timeout * 1000;
	const children = [];
	const kill = () => {
		for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
	};
	process.on("exit", kill);
	for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(130));

	const ctx = await backend.prepare(o);
	const starts = new Map(); // wake sample -> resolve(time)
	const stats = [];
	const ready = [];
	for (let i = 0; i < o.procs; i++) {
		const c = fork(o.script, ["worker", JSON.stringify(o)], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
		children.push(c);
		ready.push(
			new Promise((resolve, reject) => {
				c.once("exit", (code) => reject(new Error(`worker ${i} exited (${code}) early`)));
				c.on("message", (m) => {
					if (m.type === "ready") resolve(m.pid);
					else if (m.type === "start") starts.get(m.w)?.(m.at);
					else if (m.type === "stats") stats[i]?.(m);
				});
			}),
		);
	}
	const until = (p, what) =>
		Promise.race([
			p,
			sleep(Math.max(0, deadline - Date.now())).then(() => {
				throw new Error(`timeout: ${what}`);
			}),
		]);
	const pids = await until(Promise.all(ready), "workers not ready");
	await sleep(300); // every worker waits for jobs (blocked on Redis / LISTENing) before the batch

	// 1. No-op jobs: one bulk enqueue, all workers already idle.
	const t0 = nowUs();
	await until(backend.enqueueBulk(ctx, o.n), "bulk enqueue");
	const enqueueMs = (nowUs() - t0) / 1000;
	const poll = () =>
		Promise.all(
			children.map(
				(c, i) =>
					new Promise((resolve) => {
						stats[i] = resolve;
						c.send({ type: "stats" });
					}),
			),
		);
	let s;
	for (;;) {
		s = await until(poll(), "no-op jobs not done");
		if (s.reduce((a, x) => a + x.count, 0) >= o.n) break;
		await sleep(20);
	}
	const first = Math.min(...s.map((x) => x.first).filter((x) => x > 0));
	const last = Math.max(...s.map((x) => x.last));
	let tail = 0;
	if (backend.pending) {
		let left = await backend.pending(ctx);
		while (left > 0) {
			if (Date.now() > deadline) throw new Error("timeout: queue not empty");
			await sleep(1);
			left = await backend.pending(ctx);
			tail = Math.max(0, nowUs() - last);
		}
	}
	const windowMs = (last + tail - first) / 1000;
	result("rate", Math.round((o.n * 1000) / windowMs));
	result("window_ms", windowMs.toFixed(1));
	result("tail_ms", (tail / 1000).toFixed(1));
	result("enqueue_ms", enqueueMs.toFixed(1));
	result("procs", o.procs);
	result("per_proc_jobs", s.map((x) => x.count).join(","));

	// 2. Memory of the workers after the no-op run.
	let top = {};
	for (const pid of pids) {
		const m = procStatus(pid);
		if ((m.VmRSS ?? 0) > (top.VmRSS ?? 0)) top = m;
	}
	result("rss_kb", top.VmRSS ?? 0);
	result("hwm_kb", top.VmHWM ?? 0);
	result("anon_kb", top.RssAnon ?? 0);

	// 3. Wake-up latency of the idle workers: one job at a time, `gap` ms after the previous one
	// started.
	const lat = [];
	const latCall = [];
	for (let i = 0; i < o.wake; i++) {
		await sleep(o.gap);
		const started = new Promise((resolve) => starts.set(i, resolve));
		const a = nowUs();
		await until(backend.enqueueOne(ctx, { w: i }), "wake enqueue");
		const b = nowUs();
		const at = await until(started, `wake-up job ${i} not started`);
		starts.delete(i);
		lat.push((at - b) / 1000);
		latCall.push((at - a) / 1000);
	}
	if (o.wake > 0) {
		result("wake_p50_ms", percentile(lat, 50).toFixed(3));
		result("wake_p99_ms", percentile(lat, 99).toFixed(3));
		result("wake_max_ms", percentile(lat, 100).toFixed(3));
		result("wake_min_ms", percentile(lat, 0).toFixed(3));
		result("wakecall_p50_ms", percentile(latCall, 50).toFixed(3));
		result("wakecall_p99_ms", percentile(latCall, 99).toFixed(3));
	}

	// Stop the workers, then the producer side.
	await Promise.race([
		Promise.all(
			children.map(
				(c) =>
					new Promise((resolve) => {
						if (c.exitCode !== null) return resolve();
						c.removeAllListeners("exit");
						c.once("exit", resolve);
						c.send({ type: "stop" });
					}),
			),
		),
		sleep(8000),
	]);
	kill();
	await backend.close(ctx);
}

// argv: node SCRIPT run JSON | node SCRIPT worker JSON
export async function main(backend, startWorker, script) {
	try {
		if (process.argv[2] === "worker") await workerMain(startWorker);
		else {
			const o = { script, n: 20000, procs: 2, concurrency: 1, wake: 300, gap: 3, timeout: 120, ...JSON.parse(process.argv[3] ?? "{}") };
			await driverMain(backend, o);
			process.exit(0);
		}
	} catch (e) {
		log(`${process.argv[2]}: ${e && e.stack ? e.stack : e}`);
		process.exit(1);
	}
}
