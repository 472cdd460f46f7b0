using System.Net;
using System.Net.Http.Headers;
using System.Text;
using D8.Contracts;
using D8.Tests.Infrastructure;

namespace D8.Tests.Orchestrator;

/// <summary>
/// One orchestrator for the whole class: every test here only sends bad input and reads the answer. The tasks a test
/// submits just to have an id ask for a model no worker serves, so the one test that leases sees only its own task.
/// </summary>
public sealed class BadInputOrchestrator : IAsyncLifetime
{
    public const int BodyLimit = 4096;
    public InProcessOrchestrator Orch { get; private set; } = null!;
    public WorkerClient Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Orch = await InProcessOrchestrator.StartAsync(new Dictionary<string, string?> { ["D8_MAX_BODY_BYTES"] = BodyLimit.ToString() });
        Worker = await Orch.CreateClient().RegisterWorkerAsync(new RegisterWorkerRequest { Name = "w", Provider = "ollama", Models = ["m"] });
    }

    public async Task DisposeAsync() => await Orch.DisposeAsync();
}

/// <summary>Whatever a client sends wrong gets a 4xx problem+json with a message, never a 500.</summary>
public sealed class BadInputApiTests(BadInputOrchestrator shared) : IClassFixture<BadInputOrchestrator>
{
    private const int BodyLimit = BadInputOrchestrator.BodyLimit;
    private const string Unserved = "no-worker-serves-this";
    private readonly InProcessOrchestrator _orch = shared.Orch;
    private readonly WorkerClient _worker = shared.Worker;

    public static TheoryData<string, string, string?, int> ClientCases => new()
    {
        { "POST", "api/tasks", "{\"prompt\": \"hi\"", 400 },                       // malformed JSON
        { "POST", "api/tasks", "[1,2]", 400 },                                      // wrong shape
        { "POST", "api/tasks", "null", 400 },
        { "POST", "api/tasks", null, 400 },                                         // no body
        { "POST", "api/tasks", "{}", 400 },                                         // neither prompt nor messages
        { "POST", "api/tasks", "{\"messages\": []}", 400 },
        { "POST", "api/tasks", "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"temperature\": 2.5}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"temperature\": -1}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"priority\": 10}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"priority\": -1}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"max_tokens\": 0}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"max_tokens\": -5}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"max_tokens\": \"many\"}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"max_tokens\": 99999999999}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"provider\": \"openia\"}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"deadline\": \"2001-01-01T00:00:00Z\"}", 400 },
        { "POST", "api/tasks", "{\"prompt\": \"hi\", \"deadline\": \"tomorrow\"}", 400 },
        { "GET", "api/tasks/does-not-exist", null, 404 },
        { "DELETE", "api/tasks/does-not-exist", null, 404 },
        { "GET", "api/tasks/does-not-exist?wait=5", null, 404 },
        { "GET", "api/tasks?state=running", null, 400 },
        { "GET", "api/tasks?limit=0", null, 400 },
        { "GET", "api/tasks?limit=abc", null, 400 },
        { "GET", "api/tasks?limit=100000", null, 400 },
        { "GET", "api/tasks?cursor=zzz", null, 400 },
        { "POST", "api/workers/no-such-worker/drain", null, 404 },
    };

    [Theory]
    [MemberData(nameof(ClientCases))]
    public async Task Client_bad_input_gets_a_problem(string method, string path, string? body, int status)
    {
        var http = _orch.CreateHttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _orch.ApiKey);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        await AssertProblemAsync(await http.SendAsync(request), status);
    }

    [Theory]
    [InlineData("wait=abc")]
    [InlineData("wait=-1")]
    [InlineData("wait=61")]
    [InlineData("wait=NaN")]
    public async Task Bad_wait_values_get_a_problem(string query)
    {
        var id = (await _orch.CreateClient().SubmitAsync(new SubmitTaskRequest { Prompt = "x", Model = Unserved })).Id;
        var http = _orch.CreateHttpClient();
        using var get = new HttpRequestMessage(HttpMethod.Get, $"api/tasks/{id}?{query}");
        get.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _orch.ApiKey);
        await AssertProblemAsync(await http.SendAsync(get), 400);

        using var lease = new HttpRequestMessage(HttpMethod.Post, $"api/workers/{_worker.Id}/leases?{query}");
        lease.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _worker.Token);
        lease.Content = new StringContent("{\"max\":1}", Encoding.UTF8, "application/json");
        await AssertProblemAsync(await http.SendAsync(lease), 400);
    }

    public static TheoryData<string, string, string?, int> WorkerCases => new()
    {
        { "POST", "api/workers", "{\"name\": \"x\"}", 400 },                                        // missing provider/models
        { "POST", "api/workers", "{\"name\": \"x\", \"provider\": \"ollama\", \"models\": []}", 400 },
        { "POST", "api/workers", "{\"name\": \"x\", \"provider\": \"skynet\", \"models\": [\"m\"]}", 400 },
        { "POST", "api/workers", "{\"name\": \"x\", \"provider\": \"ollama\", \"models\": [\"m\"], \"max_concurrency\": -2}", 400 },
        { "POST", "api/workers", "{oops", 400 },
        { "POST", "api/workers/{w}/leases", "{\"max\": 0}", 400 },
        { "POST", "api/workers/{w}/leases", "{\"max\": 100000}", 400 },
        { "POST", "api/workers/{w}/heartbeat", "{\"in_flight\": -1}", 400 },
        { "POST", "api/workers/{w}/leases", "{\"max\": 1, \"token_budget\": -5}", 400 },
        { "POST", "api/workers/{w}/heartbeat", "{\"budget\": [{\"window\": \"requests_per_minute\", \"used\": 1, \"limit\": 5, \"seconds\": 0}]}", 400 },
        { "POST", "api/workers/{w}/heartbeat", "{\"in_flight\": ", 400 },
        { "POST", "api/tasks/no-such-task/complete", "{\"lease_id\": \"l\", \"content\": \"c\"}", 404 },
        { "POST", "api/tasks/no-such-task/fail", "{\"lease_id\": \"l\", \"kind\": \"transient\", \"message\": \"m\"}", 404 },
        { "POST", "api/tasks/{t}/complete", "{\"content\": \"c\"}", 400 },                          // no lease id
        { "POST", "api/tasks/{t}/complete", "{\"lease_id\": \"stale\", \"content\": \"c\"}", 409 },
        { "POST", "api/tasks/{t}/fail", "{\"lease_id\": \"l\", \"kind\": \"exploded\", \"message\": \"m\"}", 400 },
        { "POST", "api/tasks/{t}/fail", "{\"lease_id\": \"l\", \"kind\": \"rate_limited\", \"message\": \"m\", \"retry_after_seconds\": -3}", 400 },
    };

    [Theory]
    [MemberData(nameof(WorkerCases))]
    public async Task Worker_bad_input_gets_a_problem(string method, string path, string? body, int status)
    {
        var taskId = (await _orch.CreateClient().SubmitAsync(new SubmitTaskRequest { Prompt = "x", Model = Unserved })).Id;
        var http = _orch.CreateHttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{w}", _worker.Id).Replace("{t}", taskId));
        var bearer = path == "api/workers" ? _orch.JoinToken : _worker.Token;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        await AssertProblemAsync(await http.SendAsync(request), status);
    }

    [Fact]
    public async Task Oversized_body_gets_413_with_or_without_a_content_length()
    {
        var http = _orch.CreateHttpClient();
        var big = "{\"prompt\": \"" + new string('x', BodyLimit * 2) + "\"}";

        using var sized = new HttpRequestMessage(HttpMethod.Post, "api/tasks");
        sized.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _orch.ApiKey);
        sized.Headers.ConnectionClose = true;
        sized.Content = new StringContent(big, Encoding.UTF8, "application/json");
        await AssertProblemAsync(await http.SendAsync(sized), 413);

        // Kestrel closes a connection whose body it refused; a new client keeps the second request off that
        // pooled connection (reusing it races the close and can end in ResponseEnded).
        http = _orch.CreateHttpClient();
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "api/tasks");
        chunked.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _orch.ApiKey);
        chunked.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        await AssertProblemAsync(await http.SendAsync(chunked), 413);

        // The orchestrator is fine afterwards.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_finished_task_is_a_conflict()
    {
        var client = _orch.CreateClient();
        var id = (await client.SubmitAsync(new SubmitTaskRequest { Prompt = "x", Model = "m" })).Id;
        var lease = (await _worker.LeaseAsync(8, TimeSpan.FromSeconds(5))).Single(l => l.TaskId == id);
        await _worker.CompleteAsync(id, new CompleteTaskRequest { LeaseId = lease.LeaseId, Content = "ok" });
        var ex = await Assert.ThrowsAsync<OrchestratorException>(() => client.CancelAsync(id));
        Assert.Equal(HttpStatusCode.Conflict, ex.Status);
        Assert.Contains("already succeeded", ex.Problem!.Detail);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, int status)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = System.Text.Json.JsonSerializer.Deserialize(text, D8JsonContext.Default.Problem)!;
            Assert.Equal(status, problem.Status);
            Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
            Assert.DoesNotContain("   at ", text); // no stack traces
        }
    }
}
