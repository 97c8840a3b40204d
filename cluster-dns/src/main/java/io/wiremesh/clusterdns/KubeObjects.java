package io.wiremesh.clusterdns;

import io.fabric8.kubernetes.api.model.EndpointAddress;
import io.fabric8.kubernetes.api.model.EndpointPort;
import io.fabric8.kubernetes.api.model.EndpointSubset;
import io.fabric8.kubernetes.api.model.Endpoints;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns the API objects the informers hold into a {@link ClusterState}. Pure: no client, no I/O.
 * Malformed fields (an unparsable IP, a port without a number) leave out what they describe, never fail.
 */
public final class KubeObjects {
    private KubeObjects() {}

    /**
     * The cluster state of these Services and Endpoints (v1, any namespaces). An Endpoints object belongs to the
     * Service of the same namespace and name; Endpoints without a Service are ignored. Only ready addresses
     * ({@code subsets[].addresses}) count; the endpoints controller already puts not-ready ones there when the
     * Service has {@code publishNotReadyAddresses}.
     */
    public static ClusterState toClusterState(Collection<io.fabric8.kubernetes.api.model.Service> services, Collection<Endpoints> endpoints) {
        Map<String, Endpoints> byKey = new HashMap<>();
        for (Endpoints e : endpoints) {
            if (e.getMetadata() != null) byKey.put(e.getMetadata().getNamespace() + "/" + e.getMetadata().getName(), e);
        }
        List<ClusterState.Service> out = new ArrayList<>();
        for (io.fabric8.kubernetes.api.model.Service s : services) {
            if (s.getMetadata() == null || s.getSpec() == null) continue;
            String ns = s.getMetadata().getNamespace(), name = s.getMetadata().getName();
            out.add(service(ns, name, s.getSpec(), byKey.get(ns + "/" + name)));
        }
        return new ClusterState(out);
    }

    static ClusterState.Service service(String namespace, String name, ServiceSpec spec, Endpoints endpoints) {
        ClusterState.Kind kind = kind(spec);
        List<InetAddress> ips = new ArrayList<>();
        if (kind == ClusterState.Kind.CLUSTER_IP) {
            List<String> texts = spec.getClusterIPs() != null && !spec.getClusterIPs().isEmpty() ? spec.getClusterIPs()
                    : spec.getClusterIP() != null ? List.of(spec.getClusterIP()) : List.of();
            for (String t : texts) ip(t).filter(ip -> !ips.contains(ip)).ifPresent(ips::add);
        }
        List<ClusterState.Port> ports = new ArrayList<>();
        if (spec.getPorts() != null) {
            for (ServicePort p : spec.getPorts()) {
                if (p.getPort() != null) ports.add(new ClusterState.Port(p.getName(), p.getProtocol(), p.getPort()));
            }
        }
        List<ClusterState.Endpoint> eps = new ArrayList<>();
        if (endpoints != null && endpoints.getSubsets() != null) {
            for (EndpointSubset subset : endpoints.getSubsets()) {
                List<ClusterState.Port> subsetPorts = new ArrayList<>();
                if (subset.getPorts() != null) {
                    for (EndpointPort p : subset.getPorts()) {
                        if (p.getPort() != null) subsetPorts.add(new ClusterState.Port(p.getName(), p.getProtocol(), p.getPort()));
                    }
                }
                if (subset.getAddresses() == null) continue;
                for (EndpointAddress a : subset.getAddresses()) {
                    ip(a.getIp()).ifPresent(ip -> eps.add(new ClusterState.Endpoint(ip, a.getHostname(), subsetPorts)));
                }
            }
        }
        String external = kind == ClusterState.Kind.EXTERNAL_NAME ? spec.getExternalName() : "";
        return new ClusterState.Service(namespace, name, kind, ips, external, ports, eps);
    }

    static ClusterState.Kind kind(ServiceSpec spec) {
        if ("ExternalName".equals(spec.getType())) return ClusterState.Kind.EXTERNAL_NAME;
        if ("None".equals(spec.getClusterIP())) return ClusterState.Kind.HEADLESS;
        return ClusterState.Kind.CLUSTER_IP;
    }

    private static Optional<InetAddress> ip(String text) {
        if (text == null || text.isEmpty() || text.equals("None")) return Optional.empty();
        try {
            return Optional.of(InetAddress.ofLiteral(text));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
