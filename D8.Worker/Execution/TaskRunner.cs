using D8.Contracts;
using D8.Worker.Configuration;
using D8.Worker.Providers;
using MEAI = Microsoft.Extensions.AI;

namespace D8.Worker.Execution;

/// <summary>Runs one leased task on the provider as a stream, measuring time to first token and tokens/s.</summary>
public sealed class TaskRunner(ChatProvider provider, WorkerOptions options, TimeProvider time)
{
    /// <summary>Runs <paramref name="lease"/>; provider errors propagate for <see cref="ErrorClassifier"/>.</summary>
    /// <param name="onText">Gets each text delta as it arrives (the streaming relay); must not block.</param>
    public async Task<RunResult> RunAsync(TaskLease lease, CancellationToken cancellationToken, Action<string>? onText = null)
    {
        var model = lease.Model ?? options.DefaultModel;
        var messages = lease.Messages.Select(m => new MEAI.ChatMessage(new MEAI.ChatRole(m.Role), m.Content)).ToList();
        var chatOptions = provider.CreateOptions(lease, model);
        var meter = new RunMeter(time);
        await foreach (var update in provider.ChatFor(model).GetStreamingResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false))
        {
            meter.Observe(update);
            if (onText is not null && update.Text is { Length: > 0 } text) onText(text);
            provider.Observe(update, meter);
        }
        meter.Finish();
        provider.EnsureComplete(meter);
        return meter.ToResult(model);
    }
}
