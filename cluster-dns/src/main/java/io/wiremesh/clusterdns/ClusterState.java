package io.wiremesh.clusterdns;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * What the DNS server knows of the cluster: its Services, each with its ports and, for headless Services,
 * its ready endpoints. Immutable; built from the API objects by {@link KubeObjects}, turned into records by
 * {@link Zone}.
 *
 * @param services every Service of every namespace, in no particular order
 */
public record ClusterState(List<Service> services) {
    public ClusterState {
        services = List.copyOf(services);
    }

    /** A cluster without Services (before the first list from the API server). */
    public static final ClusterState EMPTY = new ClusterState(List.of());

    /** How a Service is reached, after its {@code spec.type} and {@code spec.clusterIP}. */
    public enum Kind {
        /** A virtual IP (types ClusterIP, NodePort, LoadBalancer): A/AAAA records of the cluster IP(s). */
        CLUSTER_IP,
        /** {@code clusterIP: None}: A/AAAA records of every ready endpoint. */
        HEADLESS,
        /** {@code type: ExternalName}: a CNAME to {@code spec.externalName}. */
        EXTERNAL_NAME
    }

    /**
     * A port of a Service or of an endpoint.
     *
     * @param name the port's name ({@code spec.ports[].name}); empty when unnamed (no SRV record then)
     * @param protocol {@code TCP}, {@code UDP} or {@code SCTP}, as in the API
     * @param port the port number, 1..65535: the Service's port for a ClusterIP Service, the endpoint's
     *             (target) port for a headless one
     */
    public record Port(String name, String protocol, int port) {
        public Port {
            name = Objects.requireNonNullElse(name, "");
            protocol = Objects.requireNonNullElse(protocol, "TCP");
        }
    }

    /**
     * A ready endpoint of a Service (an address of {@code subsets[].addresses}, with its subset's ports).
     *
     * @param ip the endpoint's address
     * @param hostname its {@code hostname} (from a pod's {@code spec.hostname} with a matching {@code spec.subdomain}),
     *                 empty when it has none
     * @param ports the subset's ports (the targets of the Service's ports)
     */
    public record Endpoint(InetAddress ip, String hostname, List<Port> ports) {
        public Endpoint {
            hostname = Objects.requireNonNullElse(hostname, "");
            ports = List.copyOf(ports);
        }
    }

    /**
     * A Service.
     *
     * @param namespace its namespace
     * @param name its name
     * @param kind how it is reached
     * @param clusterIps its cluster IPs ({@code spec.clusterIPs}, else {@code spec.clusterIP}), empty unless {@link Kind#CLUSTER_IP}
     * @param externalName {@code spec.externalName}, empty unless {@link Kind#EXTERNAL_NAME}
     * @param ports its ports ({@code spec.ports})
     * @param endpoints its ready endpoints (used for headless Services only)
     */
    public record Service(String namespace, String name, Kind kind, List<InetAddress> clusterIps, String externalName,
                          List<Port> ports, List<Endpoint> endpoints) {
        public Service {
            clusterIps = List.copyOf(clusterIps);
            externalName = Objects.requireNonNullElse(externalName, "");
            ports = List.copyOf(ports);
            endpoints = List.copyOf(endpoints);
        }
    }
}
