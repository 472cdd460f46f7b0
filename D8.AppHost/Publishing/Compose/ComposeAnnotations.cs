namespace D8.AppHost.Publishing.Compose;

/// <summary>How a compute resource becomes a compose service: image, profiles and its health-check command.</summary>
/// <param name="Image">Image reference; may use ${VARIABLES} (declared through <see cref="ComposeVariableAnnotation"/>).</param>
/// <param name="Profiles">Compose profiles the service belongs to.</param>
/// <param name="HealthCheck">The healthcheck test (CMD form).</param>
public sealed record ComposeServiceAnnotation(string Image, IReadOnlyList<string> Profiles, IReadOnlyList<string> HealthCheck) : IResourceAnnotation
{
    /// <summary>Port the service listens on inside its container when the model leaves it open (ASP.NET images: 8080).</summary>
    public int? DefaultTargetPort { get; init; }

    /// <summary>Compose stop_grace_period (must exceed the worker's drain period).</summary>
    public string StopGracePeriod { get; init; } = "45s";
}

/// <summary>A ${VARIABLE} used in the compose file, documented in .env.example.</summary>
/// <param name="Name">Variable name.</param>
/// <param name="Description">Comment line(s) written above it.</param>
/// <param name="Default">Safe default written into .env.example (and as ${NAME:-default} where used); null for secrets.</param>
/// <param name="EnvironmentKey">When set, the resource's environment variable of this name becomes ${NAME:-generated value}.</param>
public sealed record ComposeVariableAnnotation(string Name, string Description, string? Default, string? EnvironmentKey = null) : IResourceAnnotation;

/// <summary>A container port published on the host through a variable.</summary>
/// <param name="Variable">Variable holding the host port.</param>
/// <param name="Description">Its .env.example comment.</param>
/// <param name="Default">Default host port.</param>
/// <param name="TargetPort">Port inside the container.</param>
/// <param name="LoopbackOnly">Bind 127.0.0.1 only (reachable from the host itself, not the network).</param>
public sealed record ComposeHostPortAnnotation(string Variable, string Description, string Default, int TargetPort, bool LoopbackOnly) : IResourceAnnotation;

/// <summary>CPU and memory limits for a service, each a variable with a default safe on a 4 GB Raspberry Pi.</summary>
public sealed record ComposeLimitsAnnotation(ComposeVariableAnnotation Cpus, ComposeVariableAnnotation Memory) : IResourceAnnotation;

/// <summary>Extension methods that attach compose metadata to resources.</summary>
public static class ComposeAnnotationExtensions
{
    /// <summary>Describes how the resource is published as a compose service.</summary>
    public static IResourceBuilder<T> PublishAsComposeService<T>(this IResourceBuilder<T> builder, string image, IReadOnlyList<string> profiles, IReadOnlyList<string> healthCheck, int? defaultTargetPort = null)
        where T : IResource =>
        builder.WithAnnotation(new ComposeServiceAnnotation(image, profiles, healthCheck) { DefaultTargetPort = defaultTargetPort });

    /// <summary>Publishes the environment variable <paramref name="environmentKey"/> as an overridable ${VARIABLE}.</summary>
    public static IResourceBuilder<T> WithComposeVariable<T>(this IResourceBuilder<T> builder, string environmentKey, string variable, string description)
        where T : IResource =>
        builder.WithAnnotation(new ComposeVariableAnnotation(variable, description, null, environmentKey));

    /// <summary>Names the compose variable a parameter (or a model) becomes.</summary>
    public static IResourceBuilder<T> WithComposeName<T>(this IResourceBuilder<T> builder, string variable, string description, string? safeDefault = null)
        where T : IResource =>
        builder.WithAnnotation(new ComposeVariableAnnotation(variable, description, safeDefault));

    /// <summary>Limits CPU and memory in compose through variables with the given defaults.</summary>
    public static IResourceBuilder<T> WithComposeLimits<T>(this IResourceBuilder<T> builder, string prefix, string cpus, string memory, string note)
        where T : IResource =>
        builder.WithAnnotation(new ComposeLimitsAnnotation(
            new ComposeVariableAnnotation($"{prefix}_CPUS", $"CPU limit of {builder.Resource.Name}. {note}", cpus),
            new ComposeVariableAnnotation($"{prefix}_MEMORY", $"Memory limit of {builder.Resource.Name}. {note}", memory)));
}
