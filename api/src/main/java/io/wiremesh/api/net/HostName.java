package io.wiremesh.api.net;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.regex.Pattern;

/**
 * A host another machine names to reach something: an IPv4 literal, an IPv6 literal (without
 * brackets) or a DNS name (RFC 1123: lowercase letters, digits and '-', labels of 1-63 characters
 * that neither start nor end with '-', joined by '.', at most 253 characters). Validated by its text
 * only: nothing is ever resolved, so a name stays a name.
 *
 * @param text the host exactly as given (validated)
 * @param kind which of the three it is
 */
public record HostName(String text, Kind kind) {
    /** Longest DNS name (RFC 1123, without the trailing dot). */
    public static final int MAX_NAME = 253;
    /** The accepted forms, in words for error messages. */
    public static final String FORMS = "an IPv4 address, an IPv6 address or a DNS name (lowercase letters, digits, '-' and '.')";

    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern DOTTED_DIGITS = Pattern.compile("[0-9.]+");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9a-fA-F:.]*:[0-9a-fA-F:.]*");
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    public enum Kind { IPV4, IPV6, DNS }

    /**
     * Validates {@code s} as one of the three forms.
     *
     * @throws IllegalArgumentException naming what is wrong with {@code s}
     */
    public static HostName parse(String s) {
        if (s == null || s.isEmpty()) throw new IllegalArgumentException("the host is empty: give " + FORMS);
        if (s.indexOf(':') >= 0) {
            if (!IPV6_CHARS.matcher(s).matches()) throw new IllegalArgumentException(s + " is not an IPv6 address");
            InetAddress a;
            try {
                a = InetAddress.ofLiteral(s); // literal only: never a DNS lookup
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(s + " is not an IPv6 address");
            }
            if (!(a instanceof Inet6Address)) throw new IllegalArgumentException(s + " is an IPv4-mapped IPv6 address: use the IPv4 address");
            return new HostName(s, Kind.IPV6);
        }
        if (DOTTED_DIGITS.matcher(s).matches()) {
            // All digits and dots reads as an IPv4 address (and is no usable name), so it must be one.
            if (!IPV4.matcher(s).matches()) throw new IllegalArgumentException(s + " is not an IPv4 address (four numbers 0-255, no leading zeros)");
            return new HostName(s, Kind.IPV4);
        }
        if (s.length() > MAX_NAME) throw new IllegalArgumentException("the DNS name " + abbreviate(s) + " has " + s.length()
                + " characters: at most " + MAX_NAME + " are allowed");
        for (String label : s.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException(s + " is not " + FORMS + ": " + (label.isEmpty() ? "it has an empty label (\"..\" or a dot at an end)"
                        : "label \"" + label + "\" " + (label.length() > 63 ? "is longer than 63 characters" : "must be lowercase letters, digits and '-', not starting or ending with '-'")));
            }
        }
        return new HostName(s, Kind.DNS);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
