// BullMQ beside jobq (bench/peers.sh). Redis on 127.0.0.1:$REDIS_PORT, started by peers.sh.
//
// usage: REDIS_PORT=P node bench/peers/bullmq.mjs run '{"n":20000,"procs":2,"concurrency":1,
//        "wake":300,"gap":3,"queue":"fair"}'
// Each of `procs` worker processes runs one BullMQ Worker with `concurrency`; the no-op jobs are
// added by one Queue.addBulk() call (one MULTI/EXEC: all jobs become visible at once), the
// wake-up jobs one by one by Queue.add(). Job options are BullMQ's defaults (1 attempt,
// completed jobs kept, as jobq keeps its succeeded rows).
import { fileURLToPath } from "node:url";
import { Queue, Worker } from "bullmq";
import { main } from "./common.mjs";

const connection = { host: "127.0.0.1", port: Number(process.env.REDIS_PORT || 6379), maxRetriesPerRequest: null };

const backend = {
	async prepare(o) {
		const queue = new Queue(o.queue, { connection });
		await queue.waitUntilReady();
		await queue.obliterate({ force: true });
		return { queue };
	},
	async enqueueBulk(ctx, n) {
		const jobs = [];
		for (let i = 0; i < n; i++) jobs.push({ name: "noop", data: {} });
		await ctx.queue.addBulk(jobs);
	},
	async enqueueOne(ctx, data) {
		await ctx.queue.add("noop", data);
	},
	async close(ctx) {
		await ctx.queue.close();
	},
};

async function startWorker(o, hooks) {
	const worker = new Worker(
		o.queue,
		async (job) => {
			hooks.start(job.data);
		},
		{ connection, concurrency: o.concurrency },
	);
	worker.on("completed", (job) => hooks.done(job.data));
	worker.on("error", (e) => process.stderr.write(`bullmq worker: ${e}\n`));
	await worker.waitUntilReady();
	return { stop: () => worker.close() };
}

await main(backend, startWorker, fileURLToPath(import.meta.url));
