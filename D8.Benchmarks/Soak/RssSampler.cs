using System.Diagnostics;
using System.Globalization;

namespace D8.Benchmarks.Soak;

/// <summary>
/// Reads the orchestrator's /proc/PID/status every 100 ms and keeps the sample with the highest VmRSS, split the
/// kernel's way: anonymous pages (GC heap, native heaps such as SQLite's page cache, thread stacks), file pages (mapped
/// assemblies and native libraries) and shared memory (JIT-compiled code, mapped twice under W^X). What grows at the
/// peak is what to look at; a GC trace (dotnet-counters) then says which part of the anonymous memory it is.
/// </summary>
internal sealed class RssSampler : IAsyncDisposable
{
    private readonly int _pid;
    private readonly Func<int> _done;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private Sample _peak;

    private RssSampler(int pid, Func<int> done)
    {
        _pid = pid;
        _done = done;
        _loop = LoopAsync(_stop.Token);
    }

    /// <summary>Starts sampling <paramref name="pid"/>; <paramref name="done"/> says how many tasks have finished.</summary>
    public static RssSampler Start(int pid, Func<int> done) => new(pid, done);

    /// <summary>One reading, in MB, with the run's time and tasks done when it was taken.</summary>
    public readonly record struct Sample(double Rss, double Anon, double File, double Shmem, int Threads, TimeSpan At, int Done);

    /// <summary>The sample with the highest VmRSS so far.</summary>
    public Sample Peak => _peak;

    /// <summary>The peak's breakdown, one line.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"highest sampled RSS {_peak.Rss:F0} MB at {_peak.At.TotalSeconds:F0} s ({_peak.Done} tasks done): anonymous {_peak.Anon:F0} MB " +
        $"(GC heap, native heaps, stacks), files {_peak.File:F0} MB (assemblies, native libraries), shared {_peak.Shmem:F0} MB " +
        $"(JIT code, mapped twice), {_peak.Threads} threads");

    private async Task LoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            do
            {
                if (Read() is { } sample && sample.Rss > _peak.Rss) _peak = sample;
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped
        }
    }

    private Sample? Read()
    {
        double rss = 0, anon = 0, file = 0, shmem = 0;
        var threads = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_pid}/status"))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0) continue;
                var value = line.AsSpan(colon + 1).Trim();
                var space = value.IndexOf(' ');
                var number = space < 0 ? value : value[..space];
                switch (line[..colon])
                {
                    case "VmRSS": rss = Mb(number); break;
                    case "RssAnon": anon = Mb(number); break;
                    case "RssFile": file = Mb(number); break;
                    case "RssShmem": shmem = Mb(number); break;
                    case "Threads": threads = int.Parse(number, CultureInfo.InvariantCulture); break;
                }
            }
        }
        catch (IOException)
        {
            return null; // the process has ended
        }
        return new Sample(rss, anon, file, shmem, threads, _clock.Elapsed, _done());
    }

    private static double Mb(ReadOnlySpan<char> kb) => long.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
