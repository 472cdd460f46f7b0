namespace D8.Tests.Docker.Infrastructure;

/// <summary>Polls an explicit signal (health status, API state) until it holds or the deadline passes.</summary>
public static class Poll
{
    /// <summary>Returns the first non-null value of <paramref name="probe"/>; throws with <paramref name="what"/> and the last observation on timeout.</summary>
    public static async Task<T> UntilAsync<T>(Func<CancellationToken, Task<(T? Value, string Observed)>> probe, TimeSpan timeout, string what, CancellationToken ct = default)
        where T : class
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        var observed = "nothing observed yet";
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var (value, seen) = await probe(ct);
                observed = seen;
                if (value is not null) return value;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                observed = e.GetType().Name + ": " + e.Message;
            }
            if (DateTimeOffset.UtcNow >= deadline) throw new TimeoutException($"Timed out after {timeout} waiting for {what}; last observed: {observed}");
            await Task.Delay(TimeSpan.FromSeconds(1), ct);
        }
    }
}
