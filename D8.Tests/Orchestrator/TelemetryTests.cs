using System.Diagnostics;
using System.Diagnostics.Metrics;
using D8.Contracts;
using D8.Orchestrator.Telemetry;
using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>The engine reports queue depth, dispatch latency, durations, attempts and tokens on the D8.Orchestrator meter.</summary>
public class TelemetryTests
{
    [Fact]
    public async Task Meter_reports_queue_depth_dispatch_latency_attempts_and_tokens()
    {
        await using var h = new EngineHarness();
        var measurements = new List<(string Name, double Value, string? State)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This harness's meter only (its own factory is the scope), not another test's engine in the process.
            if (instrument.Meter.Name == OrchestratorTelemetry.Name && ReferenceEquals(instrument.Meter.Scope, h.MeterFactory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? state = null;
            foreach (var t in tags) if (t.Key == "state") state = t.Value as string;
            lock (measurements) measurements.Add((i.Name, v, state));
        }
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        var w = await h.RegisterAsync();
        await h.SubmitAsync();
        await h.SubmitAsync();
        h.Time.Advance(TimeSpan.FromMilliseconds(250));
        var lease = await h.LeaseOneAsync(w);
        h.Time.Advance(TimeSpan.FromSeconds(3));
        await h.Engine.CompleteAsync(lease.TaskId, w, new CompleteTaskRequest
        {
            LeaseId = lease.LeaseId, Content = "x", Usage = new TokenUsage(10, 5, 15),
        });
        listener.RecordObservableInstruments();

        Assert.Contains(measurements, m => m is { Name: "d8.dispatch.latency", Value: 250 });
        Assert.Contains(measurements, m => m is { Name: "d8.task.duration", Value: 3000, State: "succeeded" });
        Assert.Contains(measurements, m => m is { Name: "d8.task.attempts", Value: 1 });
        Assert.Contains(measurements, m => m is { Name: "d8.tokens.reported", Value: 15 });
        Assert.Contains(measurements, m => m is { Name: "d8.tasks.queue_depth", Value: 1, State: "queued" });
        Assert.Contains(measurements, m => m is { Name: "d8.tasks.queue_depth", Value: 1, State: "succeeded" });
    }

    [Fact]
    public async Task Submit_span_is_recorded_on_the_D8_Orchestrator_source()
    {
        // The source is static and shared by every orchestrator in the process: keep only spans of this test's task.
        var spans = new List<(string Name, string? TaskId)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == OrchestratorTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) spans.Add((a.OperationName, a.GetTagItem("d8.task.id") as string)); },
        };
        ActivitySource.AddActivityListener(listener);
        await using var orch = await Infrastructure.InProcessOrchestrator.StartAsync();
        var client = orch.CreateClient();
        var worker = await orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "w", Provider = "ollama", Models = ["m"] });
        var submitted = await client.SubmitAsync(new SubmitTaskRequest { Prompt = "x" });
        var lease = Assert.Single(await worker.LeaseAsync(1, TimeSpan.FromSeconds(10)));
        await worker.FailAsync(lease.TaskId, new FailTaskRequest { LeaseId = lease.LeaseId, Kind = FailureKind.Released, Message = "bye" });
        lease = Assert.Single(await worker.LeaseAsync(1, TimeSpan.FromSeconds(10)));
        await worker.CompleteAsync(lease.TaskId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "ok" });

        List<string> mine;
        lock (spans) mine = [.. spans.Where(s => s.TaskId == submitted.Id).Select(s => s.Name)];
        Assert.Equal(1, mine.Count(n => n == "d8.task.submit"));
        Assert.Equal(2, mine.Count(n => n == "d8.task.lease"));
        Assert.Equal(1, mine.Count(n => n == "d8.task.fail"));
        Assert.Equal(1, mine.Count(n => n == "d8.task.complete"));
    }
}
