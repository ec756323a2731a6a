using System;
using System.IO;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace OrleansMQ.Protocol.Generator;

/// <summary>
/// Generates one Kafka message class per <c>.msg</c> additional file. A description that does not
/// parse is a compile error pointing at the file, not a silently missing class.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MessageGenerator : IIncrementalGenerator
{
    private static readonly DiagnosticDescriptor BadDescription = new(
        id: "OMQGEN001",
        title: "Unreadable Kafka message description",
        messageFormat: "{0}: {1}",
        category: "OrleansMQ.Protocol.Generator",
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var descriptions = context.AdditionalTextsProvider
            .Where(static file => file.Path.EndsWith(".msg", StringComparison.OrdinalIgnoreCase))
            .Select(static (file, cancellationToken) => (file.Path, Text: file.GetText(cancellationToken)?.ToString() ?? ""));

        context.RegisterSourceOutput(descriptions, static (output, file) =>
        {
            string fileName = Path.GetFileName(file.Path);
            MessageDescription message;
            string source;
            try
            {
                message = MessageParser.Parse(file.Text);
                source = MessageEmitter.Emit(message);
            }
            catch (DescriptionException ex)
            {
                // Point at the line, so the error list opens the description where it is wrong.
                var position = new LinePosition(ex.Line, 0);
                var where = Location.Create(file.Path, default, new LinePositionSpan(position, position));
                output.ReportDiagnostic(Diagnostic.Create(BadDescription, where, fileName, ex.Message));
                return;
            }

            output.AddSource(message.Name + ".g.cs", SourceText.From(source, Encoding.UTF8));
        });
    }
}
