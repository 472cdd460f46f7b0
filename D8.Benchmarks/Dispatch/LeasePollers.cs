using D8.Contracts;

namespace D8.Benchmarks.Dispatch;

/// <summary>Long-polling workers that complete every lease at once: the worker side of the dispatch and soak runs.</summary>
internal static class LeasePollers
{
    /// <summary>Starts <paramref name="perWorker"/> pollers per worker; each reports how many tasks it completed.</summary>
    public static Task[] Start(IEnumerable<WorkerClient> workers, int perWorker, int leaseMax,
        Action<int> completed, CancellationToken stop) =>
        workers.SelectMany(w => Enumerable.Range(0, perWorker).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                IReadOnlyList<TaskLease> leases;
                try
                {
                    leases = await w.LeaseAsync(leaseMax, TimeSpan.FromSeconds(2), stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                await Task.WhenAll(leases.Select(l =>
                    w.CompleteAsync(l.TaskId, new CompleteTaskRequest { LeaseId = l.LeaseId, Content = "ok" })));
                completed(leases.Count);
            }
        }))).ToArray();
}
