package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.Map;

@JsonInclude(JsonInclude.Include.NON_NULL)

@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardPeerSpec {
    public enum Tunnel {
        @JsonProperty("split") SPLIT,
        @JsonProperty("full") FULL
    }

    @Required
    public String mesh;

    @Required
    @Pattern(Formats.WG_KEY)
    @JsonPropertyDescription("The device's public key; its private key stays on the device.")
    public String publicKey;

    @JsonPropertyDescription("Optional preshared key, read from a Secret.")
    public SecretKeyRef presharedKeySecretRef;

    @Default("split")
    @JsonPropertyDescription("split: only mesh traffic goes through the tunnel; full: everything.")
    public Tunnel tunnel;

    @Min(0)
    @Max(65535)
    public Integer persistentKeepalive;

    @JsonPropertyDescription("Nodes with these labels may act as gateways for this peer. Empty: any mesh node.")
    public Map<String, String> gatewayNodes;

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class SecretKeyRef {
        @Required
        public String name;
        @Required
        public String namespace;
        @Default("presharedKey")
        public String key;
    }
}
