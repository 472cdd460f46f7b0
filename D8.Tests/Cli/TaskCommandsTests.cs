using System.Text.Json;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Cli;

/// <summary>
/// submit, tasks, task and cancel against a real orchestrator on loopback, shared by the class: every test asserts on the
/// tasks it submitted itself (a later test's worker may run what an earlier one left queued; no assertion counts those).
/// </summary>
public sealed class TaskCommandsTests(CliOrchestrator shared) : SharedCliOrchestratorTests(shared)
{
    [Fact]
    public async Task Submit_prints_the_new_task_id_and_the_task_is_queued_with_its_requirements()
    {
        var result = await Cli.RunAsync("submit", "write a haiku", "--model", "llama-3.1-8b-instant", "--provider", "groq");

        Assert.True(result.ExitCode == 0, result.ToString());
        var id = result.Out.Trim();
        var task = await Orch.CreateClient().GetTaskAsync(id);
        Assert.Equal(TaskState.Queued, task.State);
        Assert.Equal("llama-3.1-8b-instant", task.Model);
        Assert.Equal("groq", task.Provider);
        Assert.Equal("write a haiku", task.Messages.Last().Content);
    }

    [Fact]
    public async Task Submit_with_wait_prints_the_result_a_worker_reported()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (lease, _) => TestWorker.Success("def fib(n): ..."));

        var result = await Cli.RunAsync("submit", "fibonacci please", "--wait");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("def fib(n): ...", result.Out.Trim());
        Assert.Contains("test-worker", result.Err);
        Assert.Contains("20.0 tokens/s", result.Err);
    }

    [Fact]
    public async Task Submit_with_wait_and_json_prints_the_finished_task()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (lease, _) => TestWorker.Success("42"));

        var result = await Cli.RunAsync("submit", "answer", "--wait", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var task = JsonSerializer.Deserialize(result.Out, D8JsonContext.Default.TaskView)!;
        Assert.Equal(TaskState.Succeeded, task.State);
        Assert.Equal("42", task.Result!.Content);
    }

    [Fact]
    public async Task Submit_with_wait_exits_1_with_the_reason_when_the_task_fails()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (lease, _) => new FailTaskRequest
        {
            LeaseId = "", Kind = FailureKind.Permanent, Message = "model does not exist",
        });

        var result = await Cli.RunAsync("submit", "x", "--wait");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("failed", result.Err);
        Assert.Contains("model does not exist", result.Err);
        Assert.Equal("", result.Out.Trim());
    }

    [Fact]
    public async Task Submit_json_without_wait_prints_the_submit_answer()
    {
        var result = await Cli.RunAsync("submit", "hello", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var answer = JsonSerializer.Deserialize(result.Out, D8JsonContext.Default.SubmitTaskResponse)!;
        Assert.Equal(TaskState.Queued, answer.State);
    }

    [Fact]
    public async Task Tasks_lists_submitted_tasks_and_filters_by_state()
    {
        var a = (await Cli.RunAsync("submit", "first prompt")).Out.Trim();
        var b = (await Cli.RunAsync("submit", "second prompt")).Out.Trim();
        Assert.Equal(0, (await Cli.RunAsync("cancel", b)).ExitCode);

        var all = await Cli.RunAsync("tasks");
        var queued = await Cli.RunAsync("tasks", "--state", "queued");

        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Contains(a, all.Out);
        Assert.Contains(b, all.Out);
        Assert.Contains("first prompt", all.Out);
        Assert.Contains(a, queued.Out);
        Assert.DoesNotContain(b, queued.Out);
    }

    [Fact]
    public async Task Task_shows_state_worker_and_result_text()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (lease, _) => TestWorker.Success("the answer text", tokens: 40, tps: 8));
        var id = (await Cli.RunAsync("submit", "q")).Out.Trim();

        var result = await Cli.RunAsync("task", id, "--wait");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("succeeded", result.Out);
        Assert.Contains("test-worker", result.Out);
        Assert.Contains("8.0", result.Out);
        Assert.Contains("the answer text", result.Out);
    }

    [Fact]
    public async Task Cancel_cancels_a_queued_task()
    {
        var id = (await Cli.RunAsync("submit", "never mind")).Out.Trim();

        var result = await Cli.RunAsync("cancel", id);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"cancelled {id}", result.Out.Trim());
        Assert.Equal(TaskState.Cancelled, (await Orch.CreateClient().GetTaskAsync(id)).State);
    }

    [Fact]
    public async Task Cancel_of_an_unknown_task_is_one_error_line_and_exit_1()
    {
        var result = await Cli.RunAsync("cancel", "no-such-task");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        var line = Assert.Single(result.Err.Trim().Split('\n'));
        Assert.StartsWith("d8: orchestrator answered 404", line);
    }

    [Fact]
    public async Task Cancel_of_a_finished_task_says_so_and_exits_1()
    {
        await using var worker = await TestWorker.StartAsync(Orch, (lease, _) => TestWorker.Success("done"));
        var id = (await Cli.RunAsync("submit", "q", "--wait", "--json")).Out;
        var taskId = JsonSerializer.Deserialize(id, D8JsonContext.Default.TaskView)!.Id;

        var result = await Cli.RunAsync("cancel", taskId);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("succeeded", result.Err);
        Assert.Equal(TaskState.Succeeded, (await Orch.CreateClient().GetTaskAsync(taskId)).State);
    }

    [Fact]
    public async Task A_wrong_api_key_is_one_line_naming_the_fix_and_exit_1()
    {
        var result = await Cli.RunAsync("tasks", "--api-key", "wrong-key");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Err.Trim().Split('\n'));
        Assert.Contains("401", line);
        Assert.Contains("D8_API_KEY", line);
        Assert.DoesNotContain("   at ", result.Err);
    }
}
