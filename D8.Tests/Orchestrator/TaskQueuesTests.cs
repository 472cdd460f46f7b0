using D8.Contracts;
using D8.Orchestrator.Scheduling;

namespace D8.Tests.Orchestrator;

/// <summary>The queues keep their own invariants: a queued task is ready or delayed, never both, and the counts follow.</summary>
public class TaskQueuesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TaskRecord Task(long seq, int priority = 5, string? model = null) => new()
    {
        Id = $"t{seq}", Seq = seq, Kind = "chat", Messages = [], Priority = priority, Model = model, State = TaskState.Queued,
    };

    private static TaskQueues Queues()
    {
        var workers = new WorkerRegistry();
        workers.Add(new WorkerRecord
        {
            Id = "w1", Name = "w1", Provider = "ollama", Models = ["m"], TaskKinds = ["chat"], TokenHash = "x", State = WorkerState.Online,
        });
        return new TaskQueues(workers);
    }

    [Fact]
    public void A_delayed_task_is_counted_until_due_then_taken_off_the_schedule_once()
    {
        var queues = Queues();
        var task = Task(1);
        queues.Join(task);
        queues.Delay(task, T0.AddSeconds(10));
        Assert.Equal((1, 1, 0), (task.Queue!.LiveTasks, task.Queue.Delayed, task.Queue.Ready.Count));

        Assert.False(queues.TryTakeDue(T0.AddSeconds(9), out _));
        Assert.True(queues.TryTakeDue(T0.AddSeconds(10), out var due));
        Assert.Same(task, due);
        Assert.Equal(0, task.Queue.Delayed);
        Assert.False(queues.TryTakeDue(T0.AddSeconds(11), out _));
    }

    [Fact]
    public void Leaving_takes_a_queued_task_off_whichever_set_holds_it_and_an_idle_queue_is_dropped()
    {
        var queues = Queues();
        var ready = Task(1);
        var delayed = Task(2);
        queues.Join(ready);
        queues.Join(delayed);
        Assert.Same(ready.Queue, delayed.Queue);
        queues.AddReady(ready);
        queues.Delay(delayed, T0.AddSeconds(5));

        queues.Leave(ready);
        queues.Leave(delayed);
        Assert.Equal((0, 0, 0), (ready.Queue!.LiveTasks, ready.Queue.Delayed, ready.Queue.Ready.Count));
        Assert.False(queues.TryTakeDue(T0.AddSeconds(5), out _));
        Assert.Equal(1, queues.Count);
        queues.DropIdle();
        Assert.Equal(0, queues.Count);
    }

    [Fact]
    public void The_best_head_is_the_highest_priority_then_the_oldest_across_the_eligible_queues()
    {
        var queues = Queues();
        var old = Task(1);
        var urgent = Task(2, priority: 9, model: "m");
        var young = Task(3);
        foreach (var t in new[] { old, urgent, young })
        {
            queues.Join(t);
            queues.AddReady(t);
        }
        var worker = new WorkerRecord { Id = "w", Name = "w", Provider = "ollama", Models = ["m"], TaskKinds = ["chat"], TokenHash = "x" };
        var eligible = queues.Eligible(worker)!;
        Assert.Equal(2, eligible.Count);
        Assert.Same(urgent, TaskQueues.BestHead(eligible));

        queues.Take(urgent);
        Assert.Same(old, TaskQueues.BestHead(eligible));
        Assert.Equal(1, urgent.Queue!.LiveTasks); // taken to be leased: still live in its queue
        Assert.Equal(0, queues.Unroutable());
    }
}
