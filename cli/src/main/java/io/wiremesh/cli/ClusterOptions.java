package io.wiremesh.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** How a command reaches the cluster: the kubeconfig and context options every command group shares. */
final class ClusterOptions {
    @Option(names = "--kubeconfig", description = "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    Path kubeconfig;

    @Option(names = "--context", description = "kubeconfig context to use")
    String context;

    /** A client of the chosen cluster that fails fast (no retries for minutes, 5 s connect timeout). */
    KubernetesClient client() {
        if (kubeconfig != null) System.setProperty("kubeconfig", kubeconfig.toString());
        Config config = Config.autoConfigure(context);
        config.setRequestRetryBackoffLimit(0); // a command line should fail fast, not retry for minutes
        config.setConnectionTimeout(5000);
        return new KubernetesClientBuilder().withConfig(config).build();
    }
}
