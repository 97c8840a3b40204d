package io.wiremesh.operator;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Leader election on a {@code coordination.k8s.io/v1} Lease (JOSDK's, through QOSDK, which enables it in the prod
 * profile): of several operators (a rollout's overlap, {@code operator.replicas: 2}) only the holder of the Lease
 * reconciles, so blocks and peer addresses are allocated by one process at a time; the others keep their caches warm
 * and take over within the lease duration (15 s) when the holder goes.
 *
 * <p>Configuration: {@code wiremesh.operator.lease-name} (default {@code wiremesh-operator}),
 * {@code wiremesh.operator.lease-namespace} (default: the client's namespace) and {@code wiremesh.operator.identity}
 * (default: the host name, which on the host network is the node's: the chart passes the pod's name).
 */
public class LeaderElection {
    @Produces
    @Singleton
    LeaderElectionConfiguration leaderElection(
            @ConfigProperty(name = "wiremesh.operator.lease-name", defaultValue = "wiremesh-operator") String name,
            @ConfigProperty(name = "wiremesh.operator.lease-namespace") Optional<String> namespace,
            @ConfigProperty(name = "wiremesh.operator.identity") Optional<String> identity) {
        LeaderElectionConfigurationBuilder b = LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(name);
        namespace.filter(n -> !n.isBlank()).ifPresent(b::withLeaseNamespace);
        identity.filter(i -> !i.isBlank()).ifPresent(b::withIdentity);
        return b.build();
    }
}
