using D8.AppHost.Publishing.Compose;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D8.AppHost.Configuration;

/// <summary>Small helpers Program.cs uses to keep the model readable.</summary>
public static class AppHostBuilderExtensions
{
    /// <summary>Adds a secret parameter with a generated value persisted in user secrets, published as ${<paramref name="variable"/>}.</summary>
    public static IResourceBuilder<ParameterResource> AddSecret(this IDistributedApplicationBuilder builder, string name, string variable, string description) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true)
            .WithDescription(description)
            .WithComposeName(variable, $"{description} Secret: generate one, e.g. `openssl rand -hex 32`.");

    /// <summary>A console logger for messages about the model itself (skipped workers, chosen mode).</summary>
    public static ILogger CreateStartupLogger(this IDistributedApplicationBuilder builder)
    {
        var factory = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.SingleLine = true));
        return factory.CreateLogger("D8.AppHost");
    }

    /// <summary>
    /// The generic host logs a start-up failure with its whole stack trace before rethrowing it; Program.cs catches it
    /// and prints two lines with what to do, so that log entry is only noise for a newcomer.
    /// </summary>
    public static void QuietHostStartFailure(this IDistributedApplicationBuilder builder) =>
        builder.Services.Configure<LoggerFilterOptions>(o => o.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical));

    /// <summary>Run mode: one line on where the generated client API key is (never the key itself).</summary>
    public static void LogFirstRunHints(this IDistributedApplicationBuilder builder, ILogger log)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        log.LogInformation("Client API key for curl/d8: generated once and kept in user secrets. Show it with: dotnet user-secrets list --project D8.AppHost (Parameters:api-key), or open the api-key parameter in the dashboard.");
    }
}
