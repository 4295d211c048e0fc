// graphile-worker beside jobq (bench/peers.sh). PostgreSQL at $DATABASE_URL, a private cluster
// started by peers.sh.
//
// usage: DATABASE_URL=postgres://... node bench/peers/graphile.mjs run '{"n":20000,"procs":2,
//        "concurrency":1,"wake":300,"gap":3,"pollInterval":2000,"localQueue":-1,
//        "completeJobBatchDelay":-1,"maxPoolSize":10}'
// Each of `procs` worker processes runs one graphile-worker pool (run()) with `concurrency`
// (concurrentJobs). The no-op jobs are added by one WorkerUtils.addJobs() call (one statement,
// one transaction), the wake-up jobs one by one by addJob(). New jobs reach idle workers by
// LISTEN/NOTIFY; pollInterval is only the fallback. localQueue.size > 0 makes a pool fetch and
// lock that many jobs per query, completeJobBatchDelay >= 0 completes jobs in batches (both off,
// -1, by default). Success logging is off (NO_LOG_SUCCESS=1, set by peers.sh), as jobq logs
// nothing per job.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";
import { main } from "./common.mjs";

// The pg module graphile-worker itself loads.
const pg = createRequire(createRequire(import.meta.url).resolve("graphile-worker"))("pg");

const connectionString = process.env.DATABASE_URL;
// Warnings and errors to stderr; info and debug (per job, per fetch) dropped.
const logger = new Logger(() => (level, message) => {
	if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

const backend = {
	async prepare() {
		await runMigrations({ connectionString, logger });
		const utils = await makeWorkerUtils({ connectionString, logger });
		// A fresh queue for every run, as jobq's fresh database and BullMQ's obliterate(): no jobs,
		// no dead rows left by the previous runs (autovacuum would clean them at some moment of
		// a later run).
		await utils.withPgClient(async (c) => {
			await c.query("delete from graphile_worker._private_jobs");
			await c.query("vacuum analyze graphile_worker._private_jobs");
			await c.query("vacuum analyze graphile_worker._private_job_queues");
		});
		return { utils };
	},
	async enqueueBulk(ctx, n) {
		const specs = [];
		for (let i = 0; i < n; i++) specs.push({ identifier: "noop", payload: {} });
		await ctx.utils.addJobs(specs);
	},
	async enqueueOne(ctx, data) {
		await ctx.utils.addJob("noop", data);
	},
	// The run ends when the table is empty (a check: the workers time the completions, below).
	async pending(ctx) {
		const r = await ctx.utils.withPgClient((c) => c.query("select count(*)::int as n from graphile_worker._private_jobs"));
		return r.rows[0].n;
	},
	async close(ctx) {
		await ctx.utils.release();
	},
};

// graphile-worker does not wait for a job's completion query before it takes the next job, and
// with completeJobBatchDelay >= 0 it completes jobs in batches: its "job:complete" event comes
// before the job is complete in the database. A job is counted finished, as jobq's finished_at
// and BullMQ's "completed" event, when the query that deletes it (graphile-worker's completion,
// sql/completeJobs.js) has returned: pg's Client.query is wrapped to see it.
function timeCompletions(done) {
	const query = pg.Client.prototype.query;
	pg.Client.prototype.query = function (config, ...rest) {
		const r = query.call(this, config, ...rest);
		if (config && typeof config.text === "string" && /delete from \S+\._private_jobs/.test(config.text) && r && r.then) {
			const v = config.values?.[0];
			const k = Array.isArray(v) ? v.length : 1;
			r.then(
				() => {
					for (let i = 0; i < k; i++) done();
				},
				() => {},
			);
		}
		return r;
	};
}

async function startWorker(o, hooks) {
	timeCompletions(() => hooks.done());
	const worker = {};
	if (o.localQueue > 0) worker.localQueue = { size: o.localQueue };
	if (o.completeJobBatchDelay >= 0) {
		worker.completeJobBatchDelay = o.completeJobBatchDelay;
		worker.failJobBatchDelay = o.completeJobBatchDelay;
	}
	const runner = await run({
		connectionString,
		logger,
		concurrency: o.concurrency,
		maxPoolSize: o.maxPoolSize,
		pollInterval: o.pollInterval,
		noHandleSignals: true,
		taskList: {
			noop: async (payload) => {
				hooks.start(payload);
			},
		},
		preset: { worker },
	});
	return { stop: () => runner.stop() };
}

await main(backend, startWorker, fileURLToPath(import.meta.url));
