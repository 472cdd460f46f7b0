using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using D8.Contracts;
using D8.Tests.Cli;
using D8.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace D8.Tests.Evolution;

/// <summary>The evolution API on a real orchestrator (Kestrel, SQLite) with a scripted worker protocol client.</summary>
[Trait("Category", "Unit")]
public class EvolutionApiTests : StoreTests
{
    private InProcessOrchestrator _orch = null!;
    private OrchestratorClient _client = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _orch = await InProcessOrchestrator.StartAsync(Store.Apply());
        _client = _orch.CreateClient();
    }

    public override async Task DisposeAsync() => await _orch.DisposeAsync();

    [StoreFact]
    public async Task A_bad_spec_is_refused_with_every_problem_listed()
    {
        const string spec = """
            {
              "seed_prompts": ["", "ok"],
              "population_size": 1,
              "elite_count": 3,
              "tournament_size": 9,
              "crossover_rate": 1.5,
              "mutation_operators": ["tone_shift", "teleport"],
              "operators": { "provider": "openia", "temprature": 1 },
              "cases": [
                { "input": "a", "checker": { "type": "regex", "pattern": "(" } },
                { "checker": { "type": "numeric", "expected": "many" } },
                { "input": "c", "messages": [{ "role": "robot", "content": "x" }], "checker": { "type": "judge" } },
                { "input": "d", "checker": { "type": "json_schema", "schema": { "type": 12 } } },
                { "input": "e", "checker": { "type": "smell" } },
                { "input": "f" }
              ],
              "budget": { "max_tasks": 0, "max_wall_seconds": -1 },
              "populaton_size": 8
            }
            """;
        using var http = _orch.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/evolutions") { Content = new StringContent(spec, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", _orch.ApiKey);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync(D8JsonContext.Default.Problem))!;
        var fields = problem.Errors!.Keys.ToHashSet();
        string[] expected =
        [
            "seed_prompts[0]", "population_size", "elite_count", "tournament_size", "crossover_rate", "mutation_operators[1]",
            "operators.provider", "operators.temprature", "cases[0].checker.pattern", "cases[1]", "cases[1].checker.expected",
            "cases[2]", "cases[2].messages[0].role", "cases[2].checker.rubric", "cases[3].checker.schema", "cases[4].checker.type",
            "cases[5].checker", "budget.max_tasks", "budget.max_wall_seconds", "populaton_size",
        ];
        Assert.All(expected, f => Assert.Contains(f, fields));
        Assert.Empty(await _client.ListEvolutionsAsync());
    }

    [StoreFact]
    public async Task Routes_need_an_api_key_and_unknown_runs_are_404_problems()
    {
        using var http = _orch.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/evolutions")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("api/evolutions/x/stop", null)).StatusCode);
        var e = await Assert.ThrowsAsync<OrchestratorException>(() => _client.GetEvolutionAsync("evo_nope"));
        Assert.Equal(HttpStatusCode.NotFound, e.Status);
        var openApi = await http.GetStringAsync("openapi/v1.json");
        Assert.Contains("/api/evolutions/{id}/lineage", openApi);
    }

    [StoreFact]
    public async Task An_unusable_operator_reply_is_asked_again_then_the_child_is_a_marked_copy_and_judge_scores_count()
    {
        var operatorCalls = new List<string>();
        await using var worker = await TestWorker.StartAsync(_orch, (lease, _) =>
        {
            switch (lease.Kind)
            {
                case EvolutionTaskKinds.Mutate:
                    lock (operatorCalls) operatorCalls.Add(lease.Messages[^1].Content);
                    return TestWorker.Success("Sure! Here is a better prompt: be nicer.");
                case EvolutionTaskKinds.Judge:
                    Assert.Contains("from 0 to 4", lease.Messages[^1].Content);
                    Assert.True(lease.JsonMode);
                    return TestWorker.Success("```json\n{\"score\": 3, \"reason\": \"good\"}\n```");
                default:
                    return TestWorker.Success("The answer is 42.");
            }
        }, EvolutionTaskKinds.All);

        var submitted = await _client.SubmitEvolutionAsync(new EvolutionSpec
        {
            Seed = 1,
            SeedPrompts = ["Answer briefly."],
            PopulationSize = 2,
            Generations = 1,
            MutationOperators = ["add_constraint"],
            Cases =
            [
                new EvolutionCase { Input = "6 * 7?", Checker = new EvolutionChecker { Type = "numeric", Expected = EvolutionSpecs.Json("42") } },
                new EvolutionCase { Input = "Explain.", Checker = new EvolutionChecker { Type = "judge", Rubric = "Clear.", ScaleMin = 0, ScaleMax = 4 } },
            ],
        });
        var done = await EvolutionSpecs.WaitForEndAsync(_client, submitted.Id, TimeSpan.FromSeconds(60));

        Assert.Equal(EvolutionState.Completed, done.State);
        Assert.Equal(2, operatorCalls.Count); // the first reply was not JSON: asked once more
        var lineage = await _client.GetLineageAsync(submitted.Id);
        var child = lineage.Genomes.Single(g => g.Id == "g0s1");
        Assert.True(child.Fallback);
        Assert.Equal("Answer briefly.", child.Prompt);
        Assert.Equal(["g0s0"], child.Parents);
        Assert.Equal("add_constraint", child.Operator);
        var seed = lineage.Genomes.Single(g => g.Id == "g0s0");
        Assert.Equal([1.0, 0.75], seed.Scores);
        Assert.Equal(0.875, seed.Fitness);
        Assert.Equal(seed.Scores, child.Scores); // the same prompt is scored once
    }

    [StoreFact]
    public async Task Each_generation_is_a_span_and_a_metric_for_the_dashboard()
    {
        var spans = new List<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == D8.Orchestrator.Telemetry.OrchestratorTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if (a.OperationName == "d8.evolution.generation") lock (spans) spans.Add(a); },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        // This test's orchestrator only: its meter factory is the instrument's scope (other tests' runs share the process).
        var meterFactory = _orch.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var issued = 0L;
        using var meters = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Name == "d8.evolution.tasks" && ReferenceEquals(i.Meter.Scope, meterFactory)) l.EnableMeasurementEvents(i);
            },
        };
        meters.SetMeasurementEventCallback<long>((_, v, tags, _) =>
        {
            foreach (var t in tags)
            {
                if (t.Key == "event" && (string?)t.Value == "issued") Interlocked.Add(ref issued, v);
            }
        });
        meters.Start();
        await using var worker = await TestWorker.StartAsync(_orch, (lease, _) => lease.Kind == EvolutionTaskKinds.Evaluate
            ? TestWorker.Success("ok")
            : TestWorker.Success("{\"prompt\": \"Be brief. " + lease.TaskId + "\"}"), EvolutionTaskKinds.All);

        var submitted = await _client.SubmitEvolutionAsync(EvolutionSpecs.Words(seed: 2, generations: 2, operatorsProvider: null, evaluationProvider: null, population: 3));
        var done = await EvolutionSpecs.WaitForEndAsync(_client, submitted.Id, TimeSpan.FromSeconds(60));

        Assert.Equal(EvolutionState.Completed, done.State);
        List<System.Diagnostics.Activity> mine;
        lock (spans) mine = [.. spans.Where(s => (string?)s.GetTagItem("d8.evolution.id") == submitted.Id)];
        Assert.Equal([0, 1], mine.Select(s => (int)s.GetTagItem("d8.evolution.generation")!).Order());
        Assert.All(mine, s => Assert.Equal(default, s.ParentSpanId));
        Assert.Equal(done.TasksSubmitted, Interlocked.Read(ref issued));
    }

    [StoreFact]
    public async Task A_straggling_evaluation_does_not_hold_back_children_whose_tournaments_it_cannot_change()
    {
        var spec = EvolutionSpecs.Words(seed: 1, generations: 2, operatorsProvider: null, evaluationProvider: null, population: 4) with
        {
            EliteCount = 0,
            TournamentSize = 2,
        };
        var plan = D8.Orchestrator.Evolution.GenerationPlan.For(D8.Orchestrator.Evolution.EvolutionSettings.From(spec), 1);
        Assert.Contains(plan.OfType<D8.Orchestrator.Evolution.ChildSlot>(), c => !c.TournamentA.Concat(c.TournamentB ?? []).Contains(3));

        var worker = await _orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "w", Provider = "groq", Models = ["m"], TaskKinds = EvolutionTaskKinds.All, MaxConcurrency = 16 });
        var childBredMeanwhile = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            TaskLease? held = null;
            var answering = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                IReadOnlyList<TaskLease> leases;
                try { leases = await worker.LeaseAsync(16, TimeSpan.FromSeconds(1), stop.Token); }
                catch (OperationCanceledException) { return; }
                foreach (var lease in leases)
                {
                    var user = lease.Messages[^1].Content;
                    if (lease.Kind == EvolutionTaskKinds.Evaluate && lease.Messages[0].Content == "P-g0s3" && user.StartsWith("Question 0", StringComparison.Ordinal))
                    {
                        held = lease; // the straggler: answered only once a generation-1 child has been bred
                        answering.Add(release.Task.ContinueWith(_ => worker.CompleteAsync(lease.TaskId, TestWorker.Success("ok") with { LeaseId = lease.LeaseId }), TaskScheduler.Default).Unwrap());
                        continue;
                    }
                    if (held is not null && user.Contains("Variant: g1s", StringComparison.Ordinal)) childBredMeanwhile.TrySetResult();
                    var variant = user.Split("Variant: ").ElementAtOrDefault(1)?.Split('\n')[0].Trim();
                    var content = lease.Kind == EvolutionTaskKinds.Evaluate ? "ok" : "{\"prompt\": \"P-" + variant + "\"}";
                    await worker.CompleteAsync(lease.TaskId, TestWorker.Success(content) with { LeaseId = lease.LeaseId });
                }
            }
            await Task.WhenAll(answering);
        });

        var submitted = await _client.SubmitEvolutionAsync(spec);
        await childBredMeanwhile.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var during = await _client.GetEvolutionAsync(submitted.Id);
        Assert.False(during.History[0].Complete, "generation 0 is still being evaluated");
        release.SetResult();
        var done = await EvolutionSpecs.WaitForEndAsync(_client, submitted.Id, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await loop;
        Assert.Equal(EvolutionState.Completed, done.State);
    }

    // SQLite only for now: on PostgreSQL (slower commits) a submit still under way when the stop is asked is cancelled
    // just after StopAsync returns (EvolutionRun.SubmitAndWatchAsync), so the list read at once can still show it queued.
    [StoreFact(SqliteOnly = true)]
    public async Task Stop_cancels_the_queued_tasks_and_the_wall_budget_ends_a_run()
    {
        // No worker serves the evolve kinds, so the tasks stay queued.
        var spec = EvolutionSpecs.Words(seed: 5, operatorsProvider: null, evaluationProvider: null);
        var running = await _client.SubmitEvolutionAsync(spec);
        var stopped = await _client.StopEvolutionAsync(running.Id);
        Assert.Equal(EvolutionState.Stopped, stopped.State);
        Assert.Equal("stopped by client", stopped.StopReason);
        var tasks = (await _client.ListTasksAsync(limit: 1000)).Items;
        Assert.NotEmpty(tasks);
        Assert.All(tasks, t => Assert.Equal(TaskState.Cancelled, t.State));
        var again = await Assert.ThrowsAsync<OrchestratorException>(() => _client.StopEvolutionAsync(running.Id));
        Assert.Equal(HttpStatusCode.Conflict, again.Status);

        var timed = await _client.SubmitEvolutionAsync(spec with { Budget = new EvolutionBudget { MaxWallSeconds = 0.5 } });
        var ended = await EvolutionSpecs.WaitForEndAsync(_client, timed.Id, TimeSpan.FromSeconds(30));
        Assert.Equal(EvolutionState.Stopped, ended.State);
        Assert.Contains("max_wall_seconds", ended.StopReason);
    }

    [StoreFact]
    public async Task A_graceful_restart_keeps_runs_and_resumes_the_running_one()
    {
        var spec = EvolutionSpecs.Words(seed: 5, operatorsProvider: null, evaluationProvider: null);
        var submitted = await _client.SubmitEvolutionAsync(spec);
        await _orch.RestartAsync();
        var client = _orch.CreateClient();
        var view = await client.GetEvolutionAsync(submitted.Id);
        Assert.Equal(EvolutionState.Running, view.State);
        Assert.Equal(5, view.Spec!.Seed);
        // The queued tasks were re-attached, not submitted again.
        Assert.Equal(view.TasksSubmitted, (await client.ListTasksAsync(limit: 1000)).Items.Count);
        Assert.Single(await client.ListEvolutionsAsync());
    }
}

/// <summary>The same tests on PostgreSQL.</summary>
public sealed class PostgresEvolutionApiTests : EvolutionApiTests, IPostgresStoreTests;
