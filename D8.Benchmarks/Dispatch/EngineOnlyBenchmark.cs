using System.Diagnostics;
using System.Diagnostics.Metrics;
using D8.Contracts;
using D8.Orchestrator.Configuration;
using D8.Orchestrator.Scheduling;
using D8.Orchestrator.Storage;
using D8.Orchestrator.Telemetry;
using D8.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace D8.Benchmarks.Dispatch;

/// <summary>The engine and SQLite store without HTTP: how much of a task's cost is scheduling and durability.</summary>
internal static class EngineOnlyBenchmark
{
    public static async Task<double> RunAsync(int total)
    {
        var db = TempDatabase.NewPath("engine", "d8-bench");
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var store = new SqliteTaskStore(db, NullLogger<SqliteTaskStore>.Instance);
        try
        {
            var options = new OrchestratorOptions { JoinToken = "j", ApiKeys = ["k"], DbPath = db };
            var engine = new SchedulingEngine(store, options, TimeProvider.System,
                new OrchestratorTelemetry(services.GetRequiredService<IMeterFactory>()), NullLogger<SchedulingEngine>.Instance);
            var worker = (await engine.RegisterAsync(new RegisterWorkerRequest
            {
                Name = "w", Provider = "ollama", Models = ["m"], MaxConcurrency = 1024,
            })).WorkerId;
            var clock = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var done = 0;
            var submitters = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < total / 32; i++)
                {
                    await engine.SubmitAsync(new SubmitTaskRequest { Prompt = "bench", MaxTokens = 16 }, null, null);
                }
            })).ToArray();
            var pollers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (Volatile.Read(ref done) < total / 32 * 32)
                {
                    var leases = await engine.LeaseAsync(worker, 32, TimeSpan.FromMilliseconds(200), CancellationToken.None);
                    await Task.WhenAll(leases.Select(l => engine.CompleteAsync(l.TaskId, worker,
                        new CompleteTaskRequest { LeaseId = l.LeaseId, Content = "ok" })));
                    Interlocked.Add(ref done, leases.Count);
                }
            })).ToArray();
            await Task.WhenAll(submitters);
            await Task.WhenAll(pollers);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            Console.WriteLine($"engine only           : {done / clock.Elapsed.TotalSeconds:F0} tasks/s, {cpu.TotalMilliseconds * 1000 / done:F0} µs CPU per task (no HTTP)");
            return done / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await store.DisposeAsync();
            TempDatabase.Delete(db);
        }
    }
}
