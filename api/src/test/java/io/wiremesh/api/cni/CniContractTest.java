package io.wiremesh.api.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The plugin-daemon contract through JSON and back. The pinned strings are what the plugin and the
 * daemon wrote before the contract had one definition (Jackson jr, insertion order, nulls left out):
 * an installed plugin binary of that age must keep talking to a newer daemon, and the reverse.
 */
class CniContractTest {
    private static final String CONFIG = "{\"cniVersion\":\"1.1.0\",\"name\":\"wiremesh\",\"type\":\"wiremesh\",\"mtu\":1420}";

    private static Map<String, Object> json(String s) throws Exception {
        return JSON.std.mapFrom(s);
    }

    @Test
    void anAddRequestIsWrittenAsBeforeAndReadBack() throws Exception {
        CniRequest add = new CniRequest("ADD", "c1", "/var/run/netns/p1", "eth0", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1", json(CONFIG));
        String wire = JSON.std.asString(add.toMap());
        assertThat(wire).isEqualTo("{\"command\":\"ADD\",\"containerId\":\"c1\",\"netns\":\"/var/run/netns/p1\",\"ifName\":\"eth0\","
                + "\"args\":\"K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1\",\"config\":" + CONFIG + "}");
        assertThat(CniRequest.fromMap(json(wire))).isEqualTo(add);
    }

    @Test
    void absentVariablesAreLeftOutAndReadBackAsNull() throws Exception {
        CniRequest del = new CniRequest("DEL", "c1", null, "eth0", null, json(CONFIG));
        String wire = JSON.std.asString(del.toMap());
        assertThat(wire).isEqualTo("{\"command\":\"DEL\",\"containerId\":\"c1\",\"ifName\":\"eth0\",\"config\":" + CONFIG + "}");
        assertThat(CniRequest.fromMap(json(wire))).isEqualTo(del);
    }

    @Test
    void aFailureCarriesCodeMessageAndDetails() throws Exception {
        CniReply failure = CniReply.failure(CniErrorCode.TRY_AGAIN_LATER, "pool exhausted", "add nodes");
        String wire = JSON.std.asString(failure.toMap());
        assertThat(wire).isEqualTo("{\"ok\":false,\"code\":11,\"msg\":\"pool exhausted\",\"details\":\"add nodes\"}");
        assertThat(CniReply.fromMap(json(wire))).isEqualTo(failure);
        CniReply bare = CniReply.failure(CniErrorCode.IO_FAILURE, "x", null);
        assertThat(JSON.std.asString(bare.toMap())).isEqualTo("{\"ok\":false,\"code\":5,\"msg\":\"x\"}");
        assertThat(CniReply.fromMap(json(JSON.std.asString(bare.toMap())))).isEqualTo(bare);
    }

    @Test
    void aSuccessCarriesTheResultToPrint() throws Exception {
        Map<String, Object> result = json("{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.42.7.2/32\"}]}");
        CniReply success = CniReply.success(result);
        String wire = JSON.std.asString(success.toMap());
        assertThat(wire).isEqualTo("{\"ok\":true,\"result\":{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"10.42.7.2/32\"}]}}");
        assertThat(CniReply.fromMap(json(wire))).isEqualTo(success);
        assertThat(JSON.std.asString(CniReply.success(null).toMap())).isEqualTo("{\"ok\":true}");
        assertThat(CniReply.fromMap(json("{\"ok\":true}"))).isEqualTo(CniReply.success(null));
    }

    @Test
    void aReplyIsReadAsLenientlyAsThePluginAlwaysDid() throws Exception {
        // A code from a newer daemon passes through; no numeric code is an I/O failure; no msg reads "null".
        assertThat(CniReply.fromMap(json("{\"ok\":false,\"code\":142,\"msg\":\"m\"}")).code()).isEqualTo(142);
        assertThat(CniReply.fromMap(json("{\"ok\":false}"))).isEqualTo(CniReply.failure(5, "null", null));
        assertThat(CniReply.fromMap(json("{\"ok\":\"yes\",\"code\":\"7\"}")).ok()).isFalse();
        assertThat(CniReply.fromMap(null).code()).isEqualTo(5);
    }

    @Test
    void theSpecErrorObjectIsWhatThePluginPrinted() throws Exception {
        CniReply failure = CniReply.failure(CniErrorCode.INVALID_CONFIG, "bad", "why");
        assertThat(JSON.std.asString(failure.specError("1.0.0")))
                .isEqualTo("{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"bad\",\"details\":\"why\"}");
        assertThat(JSON.std.asString(CniReply.failure(4, "m", null).specError("0.4.0")))
                .isEqualTo("{\"cniVersion\":\"0.4.0\",\"code\":4,\"msg\":\"m\"}");
        assertThatThrownBy(() -> CniReply.success(null).specError("1.1.0")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aMalformedRequestNamesTheKey() throws Exception {
        assertThatThrownBy(() -> CniRequest.fromMap(null)).hasMessageContaining("empty CNI request");
        assertThatThrownBy(() -> CniRequest.fromMap(json("{\"config\":{}}"))).hasMessageContaining("'command'");
        assertThatThrownBy(() -> CniRequest.fromMap(json("{\"command\":\"ADD\"}"))).hasMessageContaining("'config'");
        assertThatThrownBy(() -> CniRequest.fromMap(json("{\"command\":\"ADD\",\"config\":{},\"ifName\":3}")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'ifName'");
    }

    @Test
    void theErrorCodesAreTheSpecsWellKnownOnes() {
        Map<CniErrorCode, Integer> codes = Arrays.stream(CniErrorCode.values()).collect(Collectors.toMap(c -> c, CniErrorCode::code));
        assertThat(codes).containsExactlyInAnyOrderEntriesOf(Map.of(
                CniErrorCode.INCOMPATIBLE_VERSION, 1, CniErrorCode.UNSUPPORTED_FIELD, 2, CniErrorCode.UNKNOWN_CONTAINER, 3,
                CniErrorCode.INVALID_ENV, 4, CniErrorCode.IO_FAILURE, 5, CniErrorCode.DECODE_FAILURE, 6, CniErrorCode.INVALID_CONFIG, 7,
                CniErrorCode.TRY_AGAIN_LATER, 11, CniErrorCode.NOT_AVAILABLE, 50, CniErrorCode.NOT_AVAILABLE_LIMITED_CONNECTIVITY, 51));
    }
}
