using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace D8.Tests.Compose;

/// <summary>
/// Regenerates docker-compose.generated.yml and .env.example once per test run (real AppHost, publish step) and parses
/// them. A collection fixture, so the compose test classes share one publish instead of one each.
/// </summary>
public sealed class ComposeOutput : IAsyncLifetime
{
    /// <summary>The collection of the classes that read the generated files.</summary>
    public const string Collection = "Compose output";

    /// <summary>Folder holding the freshly generated files.</summary>
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "d8-compose-" + Guid.NewGuid().ToString("N"));

    /// <summary>Generated compose text.</summary>
    public string Compose { get; private set; } = "";

    /// <summary>Generated .env.example text.</summary>
    public string EnvExample { get; private set; } = "";

    /// <summary>The compose file as JSON (scalars typed as compose reads them).</summary>
    public JsonObject Json { get; private set; } = new();

    /// <summary>Services by name.</summary>
    public JsonObject Services => Json["services"]!.AsObject();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.D8_AppHost>(
            ["--operation", "publish", "--step", "publish-compose", "--output-path", Directory], cts.Token);
        await using var app = await builder.BuildAsync(cts.Token);
        await app.RunAsync(cts.Token);

        // A failed pipeline step still ends the host normally, so the files are the proof.
        Compose = await File.ReadAllTextAsync(Path.Combine(Directory, "docker-compose.generated.yml"), cts.Token);
        EnvExample = await File.ReadAllTextAsync(Path.Combine(Directory, ".env.example"), cts.Token);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Compose));
        Json = (JsonObject)ToJson(yaml.Documents[0].RootNode)!;
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Converts YAML to JSON the way compose does: quoted scalars are strings, plain ones typed.</summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode { Style: ScalarStyle.Plain } s when long.TryParse(s.Value, out var n) => JsonValue.Create(n),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } s => JsonValue.Create(s.Value == "true"),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "null" or "~" } => null,
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => throw new NotSupportedException(node.GetType().Name),
    };
}

/// <summary>The compose test classes share one publish and run one after another.</summary>
[CollectionDefinition(ComposeOutput.Collection)]
public sealed class ComposeOutputCollection : ICollectionFixture<ComposeOutput>;
