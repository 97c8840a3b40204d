package io.wiremesh.cli;

import io.wiremesh.api.net.HostName;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --dns ADDR[,ADDR...]} of {@code peer add} and {@code peer config}: the device's DNS servers (IP
 * addresses) and search domains (DNS names), written as wg-quick's {@code DNS =} line. Each entry is
 * checked when the command line is parsed, so a typo fails before anything is created.
 */
final class DnsOption {
    @Option(names = "--dns", split = ",", paramLabel = "ADDR", converter = Entry.class,
            description = "DNS servers (IP addresses) and search domains for the device, comma-separated: adds a DNS line,"
                    + " e.g. --dns 10.96.0.10,svc.cluster.local (default: none, the device keeps its own DNS)")
    List<String> entries;

    /** The entries given, in order; empty without {@code --dns}. */
    List<String> entries() {
        return entries == null ? List.of() : entries;
    }

    /** One entry: an IPv4 or IPv6 address, or a DNS name (RFC 1123, lowercase). */
    static final class Entry implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                HostName.parse(value);
                return value;
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("\"" + value + "\" is neither an IP address nor a DNS search domain (" + e.getMessage()
                        + "), e.g. --dns 10.96.0.10,svc.cluster.local");
            }
        }
    }
}
