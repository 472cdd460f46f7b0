using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace D8.Tests.Telemetry;

/// <summary>Which incoming requests are protocol chatter (never traced) and which belong to a task or a client.</summary>
[Trait("Category", "Unit")]
public sealed class TraceFilterTests
{
    [Theory]
    [InlineData("GET", "/health", true)]
    [InlineData("GET", "/alive", true)]
    [InlineData("GET", "/metrics", true)]
    [InlineData("POST", "/api/workers", true)]
    [InlineData("POST", "/api/workers/w1/heartbeat", true)]
    [InlineData("POST", "/api/workers/w1/leases", true)]
    [InlineData("DELETE", "/api/workers/w1", true)]
    [InlineData("GET", "/api/workers", false)]
    [InlineData("POST", "/api/workers/w1/drain", false)]
    [InlineData("POST", "/api/tasks", false)]
    [InlineData("POST", "/api/tasks/t1/complete", false)]
    [InlineData("POST", "/api/tasks/t1/fail", false)]
    [InlineData("GET", "/api/tasks/t1", false)]
    [InlineData("POST", "/api/tasks/t1/relay", true)]
    public void Chatter_is_the_worker_protocol_and_the_probes(string method, string path, bool chatter) =>
        Assert.Equal(chatter, TraceFilter.IsChatter(method, new PathString(path)));

    [Theory]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", true)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02", true)]
    [InlineData("garbage", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void A_caller_that_said_not_sampled_is_not_traced(string? traceParent, bool notSampled) =>
        Assert.Equal(notSampled, TraceFilter.CallerSaidNotSampled(traceParent));
}
