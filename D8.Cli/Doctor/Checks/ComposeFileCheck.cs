using System.Text.RegularExpressions;
using D8.Cli.Verification;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace D8.Cli.Doctor.Checks;

/// <summary>
/// The compose file parses, the chosen profile has services, every service they depend on is started by the same
/// profile, and every <c>${VAR}</c> they use without a default is set (in the .env or the environment).
/// </summary>
public sealed partial class ComposeFileCheck : IDoctorCheck
{
    public string Name => "compose-file";

    public Task<Outcome> RunAsync(DoctorContext doctor, CancellationToken ct)
    {
        if (doctor.Profile is not { } profile)
        {
            return Task.FromResult(Outcome.Fail("no profile to check: the provider is unknown", "set D8_PROVIDER in the .env or pass --profile"));
        }
        return Task.FromResult(Check(doctor.ComposeFilePath, profile, doctor.Setting));
    }

    /// <summary>Checks <paramref name="path"/> for <paramref name="profile"/>, looking variables up with <paramref name="setting"/>.</summary>
    public static Outcome Check(string path, string profile, Func<string, string?> setting)
    {
        if (!File.Exists(path))
        {
            return Outcome.Fail($"{path} does not exist", "copy docker-compose.generated.yml from the D8 repository (or pass --compose-file)");
        }

        YamlMappingNode services;
        try
        {
            var yaml = new YamlStream();
            using (var reader = File.OpenText(path)) yaml.Load(reader);
            if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root
                || !root.Children.TryGetValue(new YamlScalarNode("services"), out var s) || s is not YamlMappingNode map)
            {
                return Outcome.Fail($"{path} has no services", "regenerate it from the AppHost (see docs/deploy.md)");
            }
            services = map;
        }
        catch (YamlException e)
        {
            return Outcome.Fail($"{path} is not valid YAML at line {e.Start.Line}: {CliApp.FirstLine(e.Message)}", "restore the file from the repository");
        }

        var enabled = services.Children
            .Where(kv => ProfilesOf(kv.Value) is var p && (p.Count == 0 || p.Contains(profile)))
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => kv.Value, StringComparer.Ordinal);
        if (!enabled.Values.Any(v => ProfilesOf(v).Contains(profile)))
        {
            var known = services.Children.SelectMany(kv => ProfilesOf(kv.Value)).Distinct().Order();
            return Outcome.Fail($"profile {profile} has no services in {Path.GetFileName(path)} (profiles: {string.Join(", ", known)})",
                "use a profile the file defines (--profile) or regenerate the file");
        }

        foreach (var (name, node) in enabled)
        {
            foreach (var dependency in DependenciesOf(node))
            {
                if (!enabled.ContainsKey(dependency))
                {
                    return Outcome.Fail($"service {name} depends on {dependency}, which profile {profile} does not start",
                        $"add profile {profile} to {dependency} in the compose file");
                }
            }
        }

        var unset = enabled.Values.SelectMany(RequiredVariables).Distinct(StringComparer.Ordinal)
            .Where(v => setting(v) is null).Order(StringComparer.Ordinal).ToList();
        if (unset.Count > 0)
        {
            return Outcome.Fail($"profile {profile} uses {string.Join(", ", unset)}, not set in the .env or environment",
                "add them to the .env (d8 setup worker writes a worker's)");
        }
        return Outcome.Pass($"profile {profile}: {enabled.Count} service(s) ({string.Join(", ", enabled.Keys)}), all variables set");
    }

    private static IReadOnlyList<string> ProfilesOf(YamlNode service) =>
        service is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode("profiles"), out var p) && p is YamlSequenceNode seq
            ? seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToList()
            : [];

    private static IEnumerable<string> DependenciesOf(YamlNode service)
    {
        if (service is not YamlMappingNode m || !m.Children.TryGetValue(new YamlScalarNode("depends_on"), out var deps)) return [];
        return deps switch
        {
            YamlSequenceNode seq => seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? ""),
            // Long form: a map of service → condition; "required: false" dependencies may be absent.
            YamlMappingNode map => map.Children
                .Where(kv => !(kv.Value is YamlMappingNode opts && opts.Children.TryGetValue(new YamlScalarNode("required"), out var r)
                    && r is YamlScalarNode { Value: "false" }))
                .Select(kv => ((YamlScalarNode)kv.Key).Value ?? ""),
            _ => [],
        };
    }

    /// <summary>Variables a service interpolates without a default (${X}, ${X:?err}, $X; not ${X:-d} or $$X).</summary>
    internal static IEnumerable<string> RequiredVariables(YamlNode node)
    {
        foreach (var scalar in node.AllNodes.OfType<YamlScalarNode>())
        {
            if (scalar.Value is not { } text || !text.Contains('$', StringComparison.Ordinal)) continue;
            foreach (Match match in Interpolation().Matches(text))
            {
                if (match.Groups["escaped"].Success) continue;
                var op = match.Groups["op"].Value;
                if (op is ":-" or "-" or ":+" or "+") continue;
                yield return match.Groups["braced"].Success ? match.Groups["braced"].Value : match.Groups["bare"].Value;
            }
        }
    }

    [GeneratedRegex(@"(?<escaped>\$\$)|\$\{(?<braced>[A-Za-z_][A-Za-z0-9_]*)(?<op>:?[-?+])?[^}]*\}|\$(?<bare>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Interpolation();
}
