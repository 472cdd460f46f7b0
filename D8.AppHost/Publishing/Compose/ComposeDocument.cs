using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace D8.AppHost.Publishing.Compose;

/// <summary>Tiny builders over YamlDotNet's representation model: strings double-quoted, numbers plain, order kept.</summary>
internal static class Yaml
{
    /// <summary>A double-quoted string scalar (so "8080:8080" or "yes" are never reinterpreted).</summary>
    public static YamlScalarNode Str(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };

    /// <summary>A plain integer scalar.</summary>
    public static YamlScalarNode Int(int value) => new(value.ToString(CultureInfo.InvariantCulture)) { Style = ScalarStyle.Plain };

    /// <summary>A plain boolean scalar.</summary>
    public static YamlScalarNode Bool(bool value) => new(value ? "true" : "false") { Style = ScalarStyle.Plain };

    /// <summary>A sequence of quoted strings.</summary>
    public static YamlSequenceNode Strs(IEnumerable<string> values) => new(values.Select(v => (YamlNode)Str(v)));

    /// <summary>Adds key: value to a mapping.</summary>
    public static YamlMappingNode Set(this YamlMappingNode map, string key, YamlNode value)
    {
        map.Add(new YamlScalarNode(key), value);
        return map;
    }

    /// <summary>Serialises a document with a leading comment.</summary>
    public static string Render(YamlMappingNode root, string headerComment)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        foreach (var line in headerComment.Split('\n'))
        {
            writer.Write("# " + line + "\n");
        }
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
        // YamlStream ends documents with "...": not needed for a single compose document.
        if (text.EndsWith("...\n", StringComparison.Ordinal)) text = text[..^4];
        return text;
    }
}
