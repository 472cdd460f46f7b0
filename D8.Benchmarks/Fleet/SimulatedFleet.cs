using System.Net;
using D8.Contracts;

namespace D8.Benchmarks.Fleet;

/// <summary>
/// N workers in this process, all async: each registers, heartbeats at the interval it is given, long-polls
/// `leases?wait=20` with max 1 and completes every lease at once — without usage, or with usage, 60 ms and 400 tokens/s
/// (so every worker is measured and all are equally fast). Over HTTP/2 (prior knowledge) the workers share a few
/// dozen handlers, each multiplexing up to 100 streams a socket, so 10,000 parked polls fit the file-descriptor limit;
/// over HTTP/1.1 each worker has its own handler (a poll socket and one for heartbeats and reports).
/// </summary>
internal sealed class SimulatedFleet : IAsyncDisposable
{
    private const int Http2Handlers = 64;
    public const int OutputTokens = 16;

    private readonly List<HttpMessageHandler> _handlers = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _usage;
    private long _completed;
    private long _errors;
    private long _polling;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _errorKinds = new();

    private SimulatedFleet(bool usage) => _usage = usage;

    /// <summary>Leases completed so far.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Failed calls (any status other than success, any transport error) before the fleet was stopped.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Errors by call and status (or exception type), e.g. "complete 409: 3".</summary>
    public string ErrorKinds => string.Join(", ", _errorKinds.OrderBy(k => k.Key).Select(k => $"{k.Key}: {k.Value}"));

    private void Error(string call, Exception ex)
    {
        Interlocked.Increment(ref _errors);
        var kind = ex is OrchestratorException oe ? ((int)oe.Status).ToString(System.Globalization.CultureInfo.InvariantCulture) : ex.GetType().Name;
        _errorKinds.AddOrUpdate($"{call} {kind}", 1, (_, n) => n + 1);
    }

    /// <summary>Workers that have sent their first lease poll.</summary>
    public long Polling => Interlocked.Read(ref _polling);

    private readonly List<HttpClient> _shared = [];
    private Uri _baseUrl = null!;
    private string _joinToken = "";
    private bool _http2;
    private int _count;

    /// <summary>Workers registered so far.</summary>
    public int Count => _count;

    /// <summary>A fleet of <paramref name="count"/> workers (more can be added with <see cref="AddAsync"/>).</summary>
    public static async Task<SimulatedFleet> StartAsync(Uri baseUrl, string joinToken, int count, bool usage, bool http2)
    {
        var fleet = new SimulatedFleet(usage) { _baseUrl = baseUrl, _joinToken = joinToken, _http2 = http2 };
        for (var i = 0; i < (http2 ? Http2Handlers : 0); i++)
        {
            var handler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            };
            fleet._handlers.Add(handler);
            fleet._shared.Add(new HttpClient(new Http2Only(handler)) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(90) });
        }
        await fleet.AddAsync(count);
        return fleet;
    }

    /// <summary>Registers <paramref name="count"/> more workers, 64 at a time, and starts their heartbeat and lease loops.</summary>
    public async Task AddAsync(int count)
    {
        var joiners = new List<OrchestratorClient>(count);
        var workers = new WorkerClient[count];
        for (var i = 0; i < count; i++)
        {
            HttpClient http;
            if (_http2)
            {
                http = _shared[(_count + i) % _shared.Count];
            }
            else
            {
                var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 2, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) };
                _handlers.Add(handler);
                http = new HttpClient(handler) { BaseAddress = _baseUrl, Timeout = TimeSpan.FromSeconds(90) };
            }
            joiners.Add(new OrchestratorClient(http) { JoinToken = _joinToken });
        }
        var first = _count;
        var next = -1;
        var intervals = new double[count];
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                var joiner = joiners[i];
                var response = await joiner.RegisterAsync(new RegisterWorkerRequest
                {
                    Name = $"sim-{first + i}", Provider = "ollama", Models = ["fleet-model"], MaxConcurrency = 1,
                });
                intervals[i] = response.HeartbeatIntervalSeconds;
                workers[i] = joiner.AsWorker(response);
            }
        })));
        for (var i = 0; i < count; i++)
        {
            var worker = workers[i];
            var interval = TimeSpan.FromSeconds(intervals[i]);
            _loops.Add(Task.Run(() => HeartbeatLoopAsync(worker, interval)));
            _loops.Add(Task.Run(() => LeaseLoopAsync(worker)));
        }
        _count += count;
    }

    private async Task HeartbeatLoopAsync(WorkerClient worker, TimeSpan interval)
    {
        var ct = _stop.Token;
        try
        {
            // Spread over the interval, as independently started workers would be.
            await Task.Delay(TimeSpan.FromSeconds(Random.Shared.NextDouble() * interval.TotalSeconds), ct);
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await worker.HeartbeatAsync(new HeartbeatRequest { Healthy = true }, ct);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    Error("heartbeat", ex);
                }
                await Task.Delay(interval, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped
        }
    }

    private async Task LeaseLoopAsync(WorkerClient worker)
    {
        var ct = _stop.Token;
        var first = true;
        while (!ct.IsCancellationRequested)
        {
            var call = "lease";
            try
            {
                var poll = worker.LeaseAsync(1, TimeSpan.FromSeconds(20), ct);
                if (first)
                {
                    first = false;
                    Interlocked.Increment(ref _polling);
                }
                foreach (var lease in await poll)
                {
                    call = "complete";
                    await worker.CompleteAsync(lease.TaskId, new CompleteTaskRequest
                    {
                        LeaseId = lease.LeaseId,
                        Content = "ok",
                        Usage = _usage ? new TokenUsage(8, OutputTokens, 8 + OutputTokens) : null,
                        DurationMs = _usage ? 60 : null,
                        TokensPerSecond = _usage ? 400 : null,
                    }, ct);
                    Interlocked.Increment(ref _completed);
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Error(call, ex);
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        foreach (var handler in _handlers) handler.Dispose();
        _stop.Dispose();
    }

    /// <summary>
    /// Every request as HTTP/2 without TLS (prior knowledge): the orchestrator's second endpoint speaks only that. Bodies
    /// are buffered so they carry a Content-Length (HTTP/2 has no chunked encoding, and the orchestrator's body reader
    /// takes a request with neither for one without a body).
    /// </summary>
    private sealed class Http2Only(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            if (request.Content is not null)
            {
                await request.Content.LoadIntoBufferAsync(ct);
            }
            return await base.SendAsync(request, ct);
        }
    }
}
