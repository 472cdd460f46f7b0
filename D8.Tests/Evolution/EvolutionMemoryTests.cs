using System.Text.Json;
using D8.Contracts;
using D8.Orchestrator.Evolution;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace D8.Tests.Evolution;

/// <summary>
/// Evolution keeps only running runs in memory (finished ones answer from SQLite, alike), and a run whose tasks no
/// worker can serve says so. Real orchestrator (Kestrel, SQLite) and a scripted worker.
/// </summary>
public sealed class EvolutionMemoryTests : IAsyncLifetime
{
    private InProcessOrchestrator _orch = null!;
    private OrchestratorClient _client = null!;

    public async Task InitializeAsync()
    {
        _orch = await InProcessOrchestrator.StartAsync();
        _client = _orch.CreateClient();
    }

    public async Task DisposeAsync() => await _orch.DisposeAsync();

    private EvolutionService Service => _orch.Services.GetRequiredService<EvolutionService>();

    private static string Json(EvolutionView v) => JsonSerializer.Serialize(v, D8JsonContext.Default.EvolutionView);
    private static string Json(GenomeView? g) => JsonSerializer.Serialize(g, D8JsonContext.Default.GenomeView);
    private static string Json(LineageView l) => JsonSerializer.Serialize(l, D8JsonContext.Default.LineageView);

    [Fact]
    public async Task A_finished_run_leaves_memory_and_answers_the_same_from_the_store_and_a_restart_loads_only_running_runs()
    {
        var spec = EvolutionSpecs.Words(seed: 3, generations: 2, operatorsProvider: null, evaluationProvider: null, population: 3);
        var finished = await _client.SubmitEvolutionAsync(spec);
        // No worker yet: the run is live; hold on to it to compare its last in-memory answers with the stored ones.
        var live = Assert.IsType<EvolutionRun>(Service.Live(finished.Id));
        await using (await TestWorker.StartAsync(_orch, (lease, _) => lease.Kind == EvolutionTaskKinds.Evaluate
            ? TestWorker.Success("precise things")
            : TestWorker.Success("{\"prompt\": \"Be precise. " + lease.TaskId + "\"}"), EvolutionTaskKinds.All, concurrency: 4))
        {
            var done = await EvolutionSpecs.WaitForEndAsync(_client, finished.Id, TimeSpan.FromSeconds(60));
            Assert.Equal(EvolutionState.Completed, done.State);
            await Service.WhenEnded(finished.Id);
        }

        Assert.Null(Service.Live(finished.Id));
        Assert.Equal(0, Service.RunsInMemory);
        var status = await _client.GetEvolutionAsync(finished.Id);
        Assert.Equal(Json(live.View()), Json(status));
        Assert.Equal(Json(live.Best()), Json(await _client.GetBestGenomeAsync(finished.Id)));
        Assert.Equal(Json(live.Lineage()), Json(await _client.GetLineageAsync(finished.Id)));
        Assert.Equal(Json(live.View(withSpec: false)), Json(Assert.Single(await _client.ListEvolutionsAsync())));
        Assert.True(status.TasksSubmitted > 0);
        Assert.Null(status.Unroutable);

        // A second run nobody can serve stays running; a restart brings back only that one.
        var running = await _client.SubmitEvolutionAsync(spec with { Operators = new EvolutionTarget { Provider = "ollama" } });
        await _orch.RestartAsync();
        var client = _orch.CreateClient();
        Assert.Equal(1, Service.RunsInMemory);
        Assert.NotNull(Service.Live(running.Id));
        Assert.Null(Service.Live(finished.Id));
        Assert.Equal(Json(status), Json(await client.GetEvolutionAsync(finished.Id)));
        Assert.Equal([running.Id, finished.Id], (await client.ListEvolutionsAsync()).Select(r => r.Id));
        Assert.Equal([running.Id], (await client.ListEvolutionsAsync(1)).Select(r => r.Id));
        var conflict = await Assert.ThrowsAsync<OrchestratorException>(() => client.StopEvolutionAsync(finished.Id));
        Assert.Equal(System.Net.HttpStatusCode.Conflict, conflict.Status);
        var missing = await Assert.ThrowsAsync<OrchestratorException>(() => client.StopEvolutionAsync("evo_nope"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.Status);
        using var http = _orch.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", _orch.ApiKey);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.GetAsync("api/evolutions?limit=0")).StatusCode);
        await client.StopEvolutionAsync(running.Id);
        Assert.Equal(0, Service.RunsInMemory);
    }

    [Fact]
    public async Task A_run_whose_operator_tasks_no_worker_serves_says_so_in_its_status_and_in_the_cli()
    {
        // Evaluation runs on groq (served); the operators want ollama, which no worker is.
        var evaluating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var worker = await TestWorker.StartAsync(_orch, (_, _) =>
        {
            evaluating.TrySetResult();
            return TestWorker.Success("precise");
        }, [EvolutionTaskKinds.Evaluate], provider: "groq");
        var submitted = await _client.SubmitEvolutionAsync(EvolutionSpecs.Words(seed: 4, generations: 2, operatorsProvider: "ollama",
            evaluationProvider: "groq", population: 4) with { MutationOperators = ["add_constraint"] }); // reflect would wait for the seed's scores
        // The seed's evaluation is issued in the same step as the generation's mutations.
        await evaluating.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var view = await _client.GetEvolutionAsync(submitted.Id);
        var waiting = Assert.Single(view.Unroutable!);
        Assert.Equal(EvolutionTaskKinds.Mutate, waiting.Kind);
        Assert.Equal("ollama", waiting.Provider);
        Assert.Null(waiting.Model);
        Assert.Equal(3, waiting.Tasks);
        Assert.Equal("no registered worker serves kind 'evolve.mutate', provider 'ollama'", waiting.Reason);

        using var cli = new CliRun();
        cli.Variables["D8_ORCHESTRATOR_URL"] = _orch.BaseUrl.AbsoluteUri;
        cli.Variables["D8_API_KEY"] = _orch.ApiKey;
        const string note = "waiting: 3 tasks: no registered worker serves kind 'evolve.mutate', provider 'ollama'";
        var status = await cli.RunAsync("evolve", "status", submitted.Id);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains(note, status.Out);
        Assert.Contains(note, (await cli.RunAsync("evolve", "list")).Out);
        Assert.Contains("\"unroutable\":[{\"kind\":\"evolve.mutate\",\"provider\":\"ollama\",\"tasks\":3,", (await cli.RunAsync("evolve", "status", submitted.Id, "--json")).Out);

        // A worker that can take them registers: the note goes at once (the engine's routability, not a stale copy).
        var mutator = await _orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "pi", Provider = "ollama", Models = ["m"], TaskKinds = [EvolutionTaskKinds.Mutate] });
        Assert.Null((await _client.GetEvolutionAsync(submitted.Id)).Unroutable);
        Assert.DoesNotContain("waiting:", (await cli.RunAsync("evolve", "status", submitted.Id)).Out);
        await _client.StopEvolutionAsync(submitted.Id);
    }
}
