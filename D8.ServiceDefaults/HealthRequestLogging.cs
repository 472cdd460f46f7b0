using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Keeps ASP.NET Core's per-request lines (4 per request) out of the Information log: compose health checks call
/// /health every 15 s, which would otherwise be most of a Pi's log. Requests stay visible in traces; failures still log.
/// </summary>
public static class HealthRequestLogging
{
    /// <summary>Raises the request-logging categories to Warning unless configuration says otherwise.</summary>
    public static TBuilder QuietRequestLogging<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        foreach (var category in new[] { "Microsoft.AspNetCore.Hosting.Diagnostics", "Microsoft.AspNetCore.Routing.EndpointMiddleware" })
        {
            if (builder.Configuration[$"Logging:LogLevel:{category}"] is null)
            {
                builder.Logging.AddFilter(category, LogLevel.Warning);
            }
        }
        return builder;
    }
}
