using System.Security.Cryptography;
using System.Text;

namespace OrleansMQ.Silo.Grains.Storage;

/// <summary>
/// File and folder names of the state files: <c>&lt;root&gt;/&lt;grain type&gt;/&lt;state name&gt;/&lt;grain key&gt;.state</c>,
/// each part turned into a name that is safe on any file system.
/// </summary>
internal static class StateFileNames
{
    /// <summary>The extension of a complete state file; anything else in the folders is ignored.</summary>
    public const string Extension = ".state";

    /// <summary>The suffix of the file a write fills before it renames it over the state file.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>What a corrupt state file is renamed to, followed by a UTC timestamp.</summary>
    public const string CorruptSuffix = ".corrupt-";

    /// <summary>
    /// Longest name kept readable. With the "k-" marker and the longest suffix a file gets (".state"
    /// then ".corrupt-", a 23-character timestamp and a counter), 200 characters stay under the
    /// 255-byte name limit of ext4, XFS and APFS. Longer topic names (Kafka allows 249) are hashed.
    /// </summary>
    public const int MaxReadableLength = 200;

    private const int HashedPrefixLength = 32;

    /// <summary>
    /// The name for <paramref name="text"/>: "k-" and the text itself when it is short and made
    /// only of [a-z0-9._-]; otherwise "h-", a sanitized prefix for the people reading the folder,
    /// "~" and the SHA-256 of <paramref name="bytes"/>. Upper-case letters are hashed too, because
    /// on a case-insensitive file system (macOS, Windows) "Orders" and "orders" would otherwise be
    /// one file; the hash keeps them apart everywhere. The two markers keep the two forms from ever
    /// meeting, and nothing reads a key back from a name: the file holds the full grain id.
    /// </summary>
    /// <param name="text">The key, grain type or state name as text.</param>
    /// <param name="bytes">The exact bytes that identify it (a grain key's bytes need not be valid UTF-8).</param>
    public static string For(string text, ReadOnlySpan<byte> bytes)
    {
        if (IsReadable(text))
        {
            return "k-" + text;
        }

        var name = new StringBuilder(2 + HashedPrefixLength + 1 + 64);
        name.Append("h-");
        foreach (char c in text.AsSpan(0, Math.Min(text.Length, HashedPrefixLength)))
        {
            name.Append(IsReadableChar(char.ToLowerInvariant(c)) ? char.ToLowerInvariant(c) : '_');
        }

        name.Append('~');
        name.Append(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        return name.ToString();
    }

    /// <summary>The name for a plain string (grain types and state names are text).</summary>
    public static string For(string text) => For(text, Encoding.UTF8.GetBytes(text));

    private static bool IsReadable(string text)
    {
        if (text.Length is 0 or > MaxReadableLength)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!IsReadableChar(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsReadableChar(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-';
}
