using System.Collections.Generic;

namespace OrleansMQ.Protocol.Generator;

/// <summary>One <c>.msg</c> file: a Kafka message body and the structs (array elements) inside it.</summary>
internal sealed class MessageDescription
{
    public string Name { get; set; } = "";

    /// <summary>The <c>ApiKey</c> member the message belongs to.</summary>
    public string ApiKey { get; set; } = "";

    public List<string> Docs { get; } = [];

    public List<FieldDescription> Fields { get; } = [];

    public List<StructDescription> Structs { get; } = [];
}

/// <summary>A nested array element: its own fields, or the shared topic → partitions shape.</summary>
internal sealed class StructDescription
{
    public string Name { get; set; } = "";

    public List<string> Docs { get; } = [];

    public List<FieldDescription> Fields { get; } = [];

    /// <summary>Set for <c>topics X of P</c>: the struct is <c>name STRING, partitions [P]</c>.</summary>
    public string? TopicPartitionsOf { get; set; }
}

/// <summary>One field: property name, wire type, the versions that carry it, its default.</summary>
internal sealed class FieldDescription
{
    public string Name { get; set; } = "";

    public string Type { get; set; } = "";

    /// <summary>The first version that carries the field.</summary>
    public int MinVersion { get; set; }

    /// <summary>The last version that carries the field; null when every later version does.</summary>
    public int? MaxVersion { get; set; }

    /// <summary>A C# expression the property starts with, or null for the type's natural default.</summary>
    public string? Default { get; set; }

    public List<string> Docs { get; } = [];

    /// <summary>True when the field is in every version (no version check around it).</summary>
    public bool Always => MinVersion == 0 && MaxVersion is null;

    /// <summary>The C# condition on <c>version</c> under which the field is on the wire.</summary>
    public string Condition =>
        MaxVersion is null ? $"version >= {MinVersion}"
        : MaxVersion == MinVersion ? $"version == {MinVersion}"
        : MinVersion == 0 ? $"version <= {MaxVersion}"
        : $"version is >= {MinVersion} and <= {MaxVersion}";

    /// <summary>The versions in words, for a property without its own documentation.</summary>
    public string VersionsText =>
        MaxVersion is null ? $"v{MinVersion}+."
        : MaxVersion == MinVersion ? $"v{MinVersion} only."
        : $"v{MinVersion}–v{MaxVersion}.";
}
