package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class WireGuardPeerStatus {
    public List<String> addresses;
    public List<String> gatewayEndpoints;
    public String lastHandshakeTime;
    public List<Condition> conditions = new ArrayList<>();
}
