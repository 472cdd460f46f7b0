using D8.AppHost.Configuration;
using D8.AppHost.Dashboard;
using D8.AppHost.Publishing.Compose;

namespace D8.AppHost.Orchestrator;

/// <summary>
/// PostgreSQL and a standby orchestrator: the compose file always offers them (profile <c>postgres</c>: the
/// <c>postgres:16</c> service, and <c>orchestrator-standby</c> beside the orchestrator on the same database); a local
/// run models them when asked (<c>--Store=postgres</c>, a PostgreSQL container), with a dashboard row under each
/// orchestrator naming its role (active or standby).
/// </summary>
public static class StandbyExtensions
{
    /// <summary>Configuration key choosing the store of a local run: sqlite (default) or postgres.</summary>
    public const string StoreKey = "Store";

    /// <summary>The compose profile of PostgreSQL and the standby.</summary>
    public const string Profile = "postgres";

    /// <summary>The database the orchestrators share.</summary>
    public const string DatabaseName = "d8";

    /// <summary>True when the model gets PostgreSQL and the standby: always when publishing, with --Store=postgres when running.</summary>
    public static bool Enabled(IDistributedApplicationBuilder builder) =>
        builder.ExecutionContext.IsPublishMode
        || string.Equals(builder.Configuration[StoreKey], "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds PostgreSQL, points the orchestrator at it, and adds the standby; returns the standby (null when not enabled).</summary>
    public static IResourceBuilder<ProjectResource>? AddD8Standby(this IDistributedApplicationBuilder builder,
        IResourceBuilder<ProjectResource> orchestrator, IResourceBuilder<ParameterResource> joinToken, IResourceBuilder<ParameterResource> apiKey)
    {
        if (!Enabled(builder)) return null;
        var password = builder.AddSecret("postgres-password", "POSTGRES_PASSWORD", "Password of the PostgreSQL superuser 'postgres' (profile 'postgres').");
        var postgres = builder.AddPostgres("postgres", password: password)
            .WithImageTag("16")
            .WithEnvironment("POSTGRES_DB", DatabaseName)
            .WithVolume("postgres-data", "/var/lib/postgresql/data")
            .WithComposeLimits("POSTGRES", "1", "512m", "Shared by both orchestrators; raise it for a large fleet.")
            .PublishAsComposeService("postgres:16", [Profile], ["CMD", "pg_isready", "-U", "postgres", "-d", DatabaseName]);
        var connection = ReferenceExpression.Create($"{postgres.Resource.ConnectionStringExpression};Database={DatabaseName}");

        if (builder.ExecutionContext.IsPublishMode)
        {
            // Compose: the orchestrator keeps SQLite unless D8_STORE=postgres; the standby always uses PostgreSQL.
            orchestrator
                .WithEnvironment("D8_STORE", "sqlite")
                .WithComposeVariable("D8_STORE", "D8_STORE",
                    "Where the orchestrator keeps its state: sqlite (its volume) or postgres (the 'postgres' profile's server, shared with orchestrator-standby).")
                .WithEnvironment("D8_POSTGRES", connection)
                .WithEnvironment("D8_PUBLIC_URL", "https://orchestrator:8080");
        }
        else
        {
            orchestrator.WithEnvironment("D8_STORE", "postgres").WithEnvironment("D8_POSTGRES", connection).WaitFor(postgres);
        }

        var standby = builder.AddProject<Projects.D8_Orchestrator>("orchestrator-standby")
            .WithEnvironment("D8_JOIN_TOKEN", joinToken)
            .WithEnvironment("D8_API_KEYS", apiKey)
            .WithEnvironment("D8_STORE", "postgres")
            .WithEnvironment("D8_POSTGRES", connection)
            .WithHttpHealthCheck("/health")
            .WithUrlForEndpoint("http", url => url.DisplayText = "Standby orchestrator")
            .WaitFor(postgres)
            .WaitFor(orchestrator);
        if (builder.ExecutionContext.IsPublishMode)
        {
            // Its own folder for its lock, the orchestrator's CA and certificates (the same volume): one pinned join
            // token is good for both. It starts once the orchestrator is healthy, so the CA exists by then.
            standby
                .WithEnvironment("D8_DB_PATH", $"{OrchestratorExtensions.ContainerDataDirectory}/standby/d8.db")
                .WithEnvironment("D8_TLS_DIR", $"{OrchestratorExtensions.ContainerDataDirectory}/tls")
                .WithEnvironment("D8_TLS", "true")
                .WithEnvironment("D8_STOP_WAIT_SECONDS", "35")
                .WithEnvironment("D8_PUBLIC_URL", "https://orchestrator-standby:8080")
                .WithAnnotation(new ContainerMountAnnotation("orchestrator-data", OrchestratorExtensions.ContainerDataDirectory, ContainerMountType.Volume, isReadOnly: false))
                .WithAnnotation(new ComposeHostPortAnnotation("D8_ORCHESTRATOR_STANDBY_PORT",
                    "Host port the standby orchestrator (profile 'postgres') is published on; workers list both: D8_ORCHESTRATOR_URL=https://orchestrator:8080,https://orchestrator-standby:8080.",
                    "8081", 8080, LoopbackOnly: false))
                .WithComposeLimits("ORCHESTRATOR_STANDBY", "1", "384m", "Idle while standby; it loads the live state when it takes over.")
                .PublishAsComposeService(OrchestratorExtensions.OrchestratorImage, [Profile], ["CMD", "/app/D8.Orchestrator", "health"], 8080);
        }
        else
        {
            var folder = builder.Configuration[OrchestratorExtensions.DataDirectoryKey] is { Length: > 0 } dir ? dir : Path.Combine(builder.AppHostDirectory, ".d8-data");
            standby.WithEnvironment("D8_DB_PATH", Path.Combine(folder, "standby", "d8.db"));
            builder.AddRoleRow(orchestrator, apiKey);
            builder.AddRoleRow(standby, apiKey);
        }
        return standby;
    }

    /// <summary>A row under an orchestrator naming its role from its /health (X-D8-Role, X-D8-Active), every few seconds.</summary>
    private static void AddRoleRow(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> orchestrator,
        IResourceBuilder<ParameterResource> apiKey)
    {
        var row = builder.AddLiveRow($"{orchestrator.Resource.Name}-role", orchestrator.Resource, "OrchestratorRole", "Role not known yet");
        builder.PollOrchestrator(orchestrator, apiKey, "OrchestratorRole", async (client, notifications, _, ct) =>
        {
            using var response = await client.Http.GetAsync("health", ct).ConfigureAwait(false);
            var role = response.Headers.TryGetValues(Contracts.ActiveOrchestratorHandler.RoleHeader, out var roles) ? roles.First() : "unknown";
            var active = response.Headers.TryGetValues(Contracts.ActiveOrchestratorHandler.ActiveHeader, out var urls) ? urls.First() : null;
            await notifications.PublishUpdateAsync(row, s => s with
            {
                State = new ResourceStateSnapshot(role == "active" ? "Active" : $"Standby · active {active ?? "none"}",
                    role == "active" ? KnownResourceStateStyles.Success : KnownResourceStateStyles.Info),
                Properties = [new("d8.role", role), new("d8.active_url", active ?? "")],
            }).ConfigureAwait(false);
        });
    }
}
