using System.Net;
using System.Net.Http.Headers;
using System.Text;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>
/// One orchestrator for the whole class: the tests only send credentials and read the answer; the one that leases
/// uses a model of its own, so it sees only its own task and workers.
/// </summary>
public sealed class AuthOrchestrator : IAsyncLifetime
{
    public InProcessOrchestrator Orch { get; private set; } = null!;
    public RegisterWorkerResponse Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Orch = await InProcessOrchestrator.StartAsync();
        Worker = await Orch.CreateClient().RegisterAsync(new RegisterWorkerRequest
        {
            Name = "a", Provider = "ollama", Models = ["m"],
        });
    }

    public async Task DisposeAsync() => await Orch.DisposeAsync();
}

/// <summary>Every route refuses missing, wrong and wrong-kind credentials with 401 problem details.</summary>
public sealed class AuthApiTests(AuthOrchestrator shared) : IClassFixture<AuthOrchestrator>
{
    private readonly InProcessOrchestrator _orch = shared.Orch;
    private readonly RegisterWorkerResponse _worker = shared.Worker;

    /// <summary>Method, path template ({w} = a real worker id), and which credential the route takes.</summary>
    public static TheoryData<string, string, string> Routes => new()
    {
        { "POST", "api/tasks", "api" },
        { "GET", "api/tasks/x", "api" },
        { "GET", "api/tasks", "api" },
        { "DELETE", "api/tasks/x", "api" },
        { "GET", "api/workers", "api" },
        { "GET", "api/stats", "api" },
        { "POST", "api/workers/{w}/drain", "api" },
        { "GET", "api/no-such-route", "api" },
        { "POST", "api/workers", "join" },
        { "POST", "api/workers/{w}/heartbeat", "worker" },
        { "POST", "api/workers/{w}/leases", "worker" },
        { "DELETE", "api/workers/{w}", "worker-or-api" },
        { "POST", "api/tasks/x/complete", "worker" },
        { "POST", "api/tasks/x/fail", "worker" },
        { "POST", "api/tasks/x/relay", "worker" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Route_answers_401_problem_without_valid_credentials(string method, string path, string credential)
    {
        var http = _orch.CreateHttpClient();
        var wrongKind = credential switch
        {
            "api" => _worker.WorkerToken,   // a worker token is not an API key
            "join" => _orch.ApiKey,         // an API key does not register workers
            "worker-or-api" => _orch.JoinToken, // leaving takes the worker's token, revoking an API key: never the join token
            _ => _orch.ApiKey,              // nor act as a worker
        };
        foreach (var bearer in new string?[] { null, "wrong-" + Guid.NewGuid().ToString("N"), wrongKind, "" })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{w}", _worker.WorkerId));
            if (bearer is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + bearer);
            }
            if (method == "POST")
            {
                // Even a malformed body must be refused for the credential first.
                request.Content = new StringContent("{not json", Encoding.UTF8, "application/json");
            }
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized,
                $"{method} {path} with {(bearer is null ? "no credential" : "a bad credential")} answered {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Wrong_api_key_in_x_api_key_header_is_refused_and_the_right_one_accepted()
    {
        var http = _orch.CreateHttpClient();
        using var bad = new HttpRequestMessage(HttpMethod.Get, "api/stats");
        bad.Headers.Add("X-Api-Key", "nope");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(bad)).StatusCode);
        using var good = new HttpRequestMessage(HttpMethod.Get, "api/stats");
        good.Headers.Add("X-Api-Key", _orch.ApiKey);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(good)).StatusCode);
    }

    [Theory]
    [InlineData("health")]
    [InlineData("alive")]
    [InlineData("openapi/v1.json")]
    public async Task Health_and_openapi_need_no_credentials(string path)
    {
        using var response = await _orch.CreateHttpClient().GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_worker_token_cannot_act_for_another_worker()
    {
        var model = "impostor-" + Guid.NewGuid().ToString("N");
        var client = _orch.CreateClient();
        var a = await client.RegisterWorkerAsync(new RegisterWorkerRequest { Name = "a", Provider = "ollama", Models = [model] });
        var b = await client.RegisterWorkerAsync(new RegisterWorkerRequest { Name = "b", Provider = "ollama", Models = [model] });
        var id = (await client.SubmitAsync(new SubmitTaskRequest { Prompt = "x", Model = model })).Id;
        var lease = Assert.Single(await b.LeaseAsync(1, TimeSpan.FromSeconds(10)));
        Assert.Equal(id, lease.TaskId);

        // A's token on B's paths.
        var impostor = new WorkerClient(_orch.CreateHttpClient(), b.Id, a.Token);
        var hb = await Assert.ThrowsAsync<OrchestratorException>(() => impostor.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(HttpStatusCode.Forbidden, hb.Status);
        var leaseCall = await Assert.ThrowsAsync<OrchestratorException>(() => impostor.LeaseAsync(1, TimeSpan.Zero));
        Assert.Equal(HttpStatusCode.Forbidden, leaseCall.Status);
        var leave = await Assert.ThrowsAsync<OrchestratorException>(() => impostor.DeregisterAsync());
        Assert.Equal(HttpStatusCode.Forbidden, leave.Status);
        // A cannot complete or fail B's lease even knowing its id.
        var complete = await Assert.ThrowsAsync<OrchestratorException>(() =>
            a.CompleteAsync(lease.TaskId, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "stolen" }));
        Assert.Equal(HttpStatusCode.Forbidden, complete.Status);
        var fail = await Assert.ThrowsAsync<OrchestratorException>(() =>
            a.FailAsync(lease.TaskId, new FailTaskRequest { LeaseId = lease.LeaseId, Kind = FailureKind.Permanent, Message = "x" }));
        Assert.Equal(HttpStatusCode.Forbidden, fail.Status);

        var view = await client.GetTaskAsync(lease.TaskId);
        Assert.Equal(TaskState.Leased, view.State);
        Assert.Equal(b.Id, view.LeasedBy);
    }

    [Fact]
    public async Task A_deregistered_workers_token_is_refused()
    {
        var w = await _orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "w", Provider = "groq", Models = ["m"] });
        await w.DeregisterAsync();
        var ex = await Assert.ThrowsAsync<OrchestratorException>(() => w.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.Status);
    }
}
