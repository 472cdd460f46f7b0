using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Keeps protocol chatter out of the trace list so a task's trace is easy to find. Dropped (never recorded):
/// incoming /health, /alive, /metrics, worker heartbeats and lease long-polls; outgoing calls made outside a recorded
/// trace (a worker's own heartbeats, lease polls, registration, provider probes and model pulls). A task stays one
/// trace: submit → d8.task.lease (a span the orchestrator starts in the task's trace) → d8.worker.run → provider call
/// (gen_ai.* spans) → complete. Metrics still count every request.
/// </summary>
public static class TraceFilter
{
    private const string HttpClientActivity = "System.Net.Http.HttpRequestOut";

    /// <summary>True when an incoming request should be traced.</summary>
    public static bool ShouldTrace(HttpContext context) => !IsChatter(context.Request.Path);

    /// <summary>Health probes, scrapes and the worker protocol's periodic calls (heartbeat, lease long-poll).</summary>
    public static bool IsChatter(PathString path)
    {
        if (path.StartsWithSegments(ServiceDefaultsExtensions.HealthEndpointPath)
            || path.StartsWithSegments(ServiceDefaultsExtensions.AlivenessEndpointPath)
            || path.StartsWithSegments(ServiceDefaultsExtensions.PrometheusEndpointPath))
        {
            return true;
        }
        // /api/workers/{id}/heartbeat and /api/workers/{id}/leases
        var value = path.Value;
        return value is not null
               && value.StartsWith("/api/workers/", StringComparison.OrdinalIgnoreCase)
               && (value.EndsWith("/heartbeat", StringComparison.OrdinalIgnoreCase) || value.EndsWith("/leases", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>True when an outgoing call belongs to a recorded trace (a task run, or a request being served).</summary>
    public static bool ShouldTraceOutgoing(HttpRequestMessage request)
    {
        _ = request;
        var current = Activity.Current;
        var parent = current?.OperationName == HttpClientActivity ? current.Parent : current;
        return parent is { Recorded: true };
    }
}
