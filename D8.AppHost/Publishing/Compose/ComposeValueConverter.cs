using System.Globalization;
using D8.AppHost.Ollama;

namespace D8.AppHost.Publishing.Compose;

/// <summary>Turns app-model values (endpoints, parameters, connection strings, expressions) into compose strings.</summary>
/// <remarks>Endpoints become service DNS names and container ports; parameters become ${VARIABLES} (values never read).</remarks>
internal sealed class ComposeValueConverter(ComposeVariables variables)
{
    /// <summary>Converts one value.</summary>
    public string Convert(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        ParameterResource p => Parameter(p),
        EndpointReference e => $"{e.EndpointAnnotation.UriScheme}://{e.Resource.Name}:{TargetPort(e)}",
        EndpointReferenceExpression x => Property(x.Endpoint, x.Property),
        ConnectionStringReference c => Convert(c.Resource),
        OllamaModelResource m => Model(m),
        IResourceWithConnectionString c => Convert(c.ConnectionStringExpression),
        ReferenceExpression { IsConditional: true } re => Convert(re.WhenFalse),
        ReferenceExpression re => string.Format(CultureInfo.InvariantCulture, re.Format, [.. re.ValueProviders.Select(p => (object)Convert(p))]),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new NotSupportedException($"Cannot publish a value of type {value.GetType().Name} to compose."),
    };

    /// <summary>The port a service listens on inside its container.</summary>
    public static int TargetPort(EndpointReference endpoint) =>
        endpoint.EndpointAnnotation.TargetPort
        ?? endpoint.Resource.Annotations.OfType<ComposeServiceAnnotation>().FirstOrDefault()?.DefaultTargetPort
        ?? throw new InvalidOperationException($"Endpoint '{endpoint.EndpointName}' of '{endpoint.Resource.Name}' has no container port.");

    private string Model(OllamaModelResource model)
    {
        var name = model.Annotations.OfType<ComposeVariableAnnotation>().FirstOrDefault() is { } v ? variables.Use(v) : model.ModelName;
        return $"Endpoint={Convert(model.Parent.EndpointExpression)};Model={name}";
    }

    private string Parameter(ParameterResource parameter)
    {
        var variable = parameter.Annotations.OfType<ComposeVariableAnnotation>().FirstOrDefault()
            ?? new ComposeVariableAnnotation(parameter.Name.ToUpperInvariant().Replace('-', '_'), parameter.Description ?? $"Parameter {parameter.Name}.", null);
        // Secrets and generated values are never written: the variable stays without default.
        return variables.Use(parameter.Secret ? variable with { Default = null } : variable);
    }

    private static string Property(EndpointReference endpoint, EndpointProperty property) => property switch
    {
        EndpointProperty.Url => $"{endpoint.EndpointAnnotation.UriScheme}://{endpoint.Resource.Name}:{TargetPort(endpoint)}",
        EndpointProperty.Host or EndpointProperty.IPV4Host => endpoint.Resource.Name,
        EndpointProperty.Port or EndpointProperty.TargetPort => TargetPort(endpoint).ToString(CultureInfo.InvariantCulture),
        EndpointProperty.HostAndPort => $"{endpoint.Resource.Name}:{TargetPort(endpoint)}",
        EndpointProperty.Scheme => endpoint.EndpointAnnotation.UriScheme,
        EndpointProperty.TlsEnabled => "false",
        _ => throw new NotSupportedException($"Endpoint property {property} cannot be published to compose."),
    };
}
