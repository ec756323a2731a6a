using System.Text.RegularExpressions;
using Xunit;

namespace OrleansMQ.Silo.Tests.Architecture;

/// <summary>
/// The silo's folders depend one way: the grains use the group and topic logic (whose grain
/// interfaces live next to it), never the reverse; Hosting is the composition root, which
/// references every folder and is referenced by none. Checked on the sources: a <c>using</c>, a
/// fully qualified <c>OrleansMQ.Silo.X.</c> name or a relative <c>X.</c> name (from inside
/// <c>OrleansMQ.Silo</c>) of a forbidden folder fails, naming the file and line.
/// </summary>
public sealed partial class FolderDependencyTests
{
    /// <summary>Folder → the folders it must not use.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Forbidden = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["Cluster"] = ["Grains", "Hosting"],
        ["Groups"] = ["Grains", "Hosting"],
        ["Topics"] = ["Grains", "Hosting"],
        ["Producers"] = ["Grains", "Hosting"],
        ["Kafka"] = ["Grains", "Hosting"],
        ["Http"] = ["Grains", "Hosting"],
        ["Produce"] = ["Grains", "Hosting", "Kafka", "Http"], // the one produce path knows neither of its fronts
        ["Grains"] = ["Hosting"],
    };

    [Fact]
    public void Silo_folders_depend_one_way()
    {
        string silo = FindSiloFolder();
        var files = SourceFiles(silo).ToList();
        Assert.True(files.Count > 50, $"only {files.Count} C# files found under {silo}");

        var violations = files.SelectMany(f => Violations(silo, f)).ToList();
        Assert.True(violations.Count == 0, "Forbidden folder dependencies:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void A_forbidden_reference_is_reported_with_its_file_and_line()
    {
        string silo = Path.Combine(Path.GetTempPath(), "omq-arch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(silo, "Http"));
        Directory.CreateDirectory(Path.Combine(silo, "Grains"));
        try
        {
            string http = Path.Combine(silo, "Http", "Gateway.cs");
            File.WriteAllLines(http,
            [
                "using OrleansMQ.Silo.Topics;",
                "using OrleansMQ.Silo.Hosting;",
                "namespace OrleansMQ.Silo.Http;",
                "// Orleans.Hosting and Microsoft.Extensions.Hosting are not ours.",
                "class Gateway { object G => new OrleansMQ.Silo.Grains.TopicGrain(); object H => Grains.Storage.X.Y; }",
            ]);
            string grains = Path.Combine(silo, "Grains", "TopicGrain.cs");
            File.WriteAllLines(grains, ["using OrleansMQ.Silo.Topics;", "namespace OrleansMQ.Silo.Grains;"]);

            var found = SourceFiles(silo).SelectMany(f => Violations(silo, f)).ToList();

            Assert.Equal(3, found.Count);
            Assert.Contains(found, v => v.StartsWith($"Http{Path.DirectorySeparatorChar}Gateway.cs:2: Http -> Hosting", StringComparison.Ordinal));
            Assert.Contains(found, v => v.StartsWith($"Http{Path.DirectorySeparatorChar}Gateway.cs:5: Http -> Grains", StringComparison.Ordinal) && v.Contains("OrleansMQ.Silo.Grains.TopicGrain", StringComparison.Ordinal));
            Assert.Contains(found, v => v.StartsWith($"Http{Path.DirectorySeparatorChar}Gateway.cs:5: Http -> Grains", StringComparison.Ordinal) && v.Contains("Grains.Storage", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(silo, recursive: true);
        }
    }

    /// <summary>Each forbidden reference in <paramref name="file"/>, as "path:line: From -> To: code".</summary>
    internal static IEnumerable<string> Violations(string silo, string file)
    {
        string relative = Path.GetRelativePath(silo, file);
        int separator = relative.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
        if (separator < 0 || !Forbidden.TryGetValue(relative[..separator], out var forbidden))
        {
            yield break;
        }

        string from = relative[..separator];
        string[] lines = File.ReadAllLines(file);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            var targets = QualifiedName().Matches(line).Select(m => m.Groups[1].Value)
                .Concat(RelativeName().Matches(line).Select(m => m.Groups[1].Value))
                .Where(forbidden.Contains);
            foreach (var to in targets)
            {
                yield return $"{relative}:{i + 1}: {from} -> {to}: {line.Trim()}";
            }
        }
    }

    private static IEnumerable<string> SourceFiles(string silo) =>
        Directory.EnumerateFiles(silo, "*.cs", SearchOption.AllDirectories)
            .Where(f =>
            {
                string relative = Path.GetRelativePath(silo, f);
                return !relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal);
            })
            .Order(StringComparer.Ordinal);

    /// <summary>The repository's Silo folder, found from the test assembly's folder upwards.</summary>
    private static string FindSiloFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string silo = Path.Combine(dir.FullName, "Silo");
            if (File.Exists(Path.Combine(silo, "OrleansMQ.Silo.csproj")))
            {
                return silo;
            }
        }

        throw new InvalidOperationException($"No Silo/OrleansMQ.Silo.csproj above {AppContext.BaseDirectory}.");
    }

    /// <summary><c>OrleansMQ.Silo.X</c> anywhere (using, global::, a fully qualified name, a cref).</summary>
    [GeneratedRegex(@"\bOrleansMQ\.Silo\.(\w+)\b")]
    private static partial Regex QualifiedName();

    /// <summary><c>X.Name</c> not preceded by a dot or a letter: a name relative to <c>OrleansMQ.Silo</c>.</summary>
    [GeneratedRegex(@"(?<![\w.])(Grains|Hosting)\.[A-Z]\w*")]
    private static partial Regex RelativeName();
}
