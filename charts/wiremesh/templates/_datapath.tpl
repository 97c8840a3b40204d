{{/*
The datapath pod's spec. Its hash names the datapath DaemonSet (templates/datapath.yaml): any change to the
pod makes a new DaemonSet beside the old one, so that each node's new datapath starts while the old one still
serves and takes the interface over from it (docs/architecture.md, "Replacing the datapath").
*/}}
{{- define "wiremesh.datapathPod" -}}
hostNetwork: true
priorityClassName: system-node-critical
serviceAccountName: {{ .Release.Name }}-datapath
automountServiceAccountToken: false
tolerations: [{operator: Exists}]
# Time to hand the interface over to the successor pod after SIGTERM (datapath.handoverSeconds), and to stop after that.
terminationGracePeriodSeconds: {{ add .Values.datapath.handoverSeconds 10 }}
{{- with .Values.datapath.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: datapath
    image: {{ include "wiremesh.image" (dict "root" . "name" "node") }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    {{- $impl := "" }}
    {{- if eq .Values.datapath.implementation "java" }}{{ $impl = "/opt/wiremesh/bin/wiremesh-wg" }}
    {{- else if eq .Values.datapath.implementation "wireguard-go" }}{{ $impl = "/opt/wiremesh/bin/wireguard-go" }}
    {{- else }}
    {{- fail (printf "datapath.implementation must be java or wireguard-go, not %q" .Values.datapath.implementation) }}
    {{- end }}
    # The node-daemon decides who owns the interface (spec.datapath; auto takes the kernel module where the
    # node has it) and records it in /var/run/wireguard/IFNAME.owner: on a kernel node this pod stands by
    # and creates nothing, so the node never has a userspace interface of the same name. A live switch to
    # the kernel records "kernel" and deletes the TUN, which ends the datapath: it goes back to standing by.
    command:
      - /bin/sh
      - -c
      - |
        dir="${WIREMESH_WG_UAPI_DIR:-/var/run/wireguard}"
        owner="$dir/$0.owner" successor="$dir/$0.successor"
        stop() {
          {{- if ne .Values.datapath.implementation "java" }}
          # wireguard-go cannot hand the interface over: serve on until the next datapath pod is about to start (it
          # leaves $successor), for up to datapath.handoverSeconds, so the node's gap is only that start.
          n=0
          while [ ! -e "$successor" ] && [ $n -lt {{ mul .Values.datapath.handoverSeconds 10 }} ]; do sleep 0.1; n=$((n + 1)); done
          rm -f "$successor"
          {{- end }}
          kill $child 2>/dev/null; wait $child; exit 0
        }
        trap stop TERM INT
        rm -f "$successor" # left by an earlier upgrade
        rm -f "$dir/$0.unresponsive" # the node-daemon's verdict on the datapath this container ran before a restart
        while :; do
          /opt/wiremesh/bin/wiremesh-wg --wait-for-userspace "$0" & child=$!
          wait $child || exit $?
          {{- if ne .Values.datapath.implementation "java" }}
          if [ -e "/sys/class/net/$0" ]; then
            # wireguard-go cannot take an interface over and comes up empty, for the node-daemon to configure: let the
            # datapath it replaces go ($successor) once this node's node-daemon is ready to (an upgrade may be
            # restarting it too), then wait until that one has let go of the interface.
            n=0
            until wget -q -O /dev/null "http://127.0.0.1:{{ .Values.nodeDaemon.statusPort }}/readyz" 2>/dev/null || [ $n -ge {{ mul .Values.datapath.handoverSeconds 10 }} ]; do
              sleep 0.1; n=$((n + 1))
            done
            touch "$successor"
          fi
          while [ -e "/sys/class/net/$0" ]; do sleep 0.1; done
          {{- else }}
          # A datapath holds the interface: this pod succeeds it (a wireguard-go predecessor waits for this to stop;
          # a Java one hands the interface over).
          [ -e "/sys/class/net/$0" ] && touch "$successor"
          {{- end }}
          {{ $impl }} -f "$0" & child=$!
          wait $child; status=$?
          [ "$(cat "$owner" 2>/dev/null)" = kernel ] || exit $status
          echo "wiremesh datapath: the node-daemon moved $0 to the kernel module"
        done
      - {{ .Values.nodeDaemon.interface | quote }}
    env:
      - {name: WIREMESH_WG_WORKERS, value: {{ .Values.datapath.workers | quote }}}
      - {name: WIREMESH_WG_JAVA_OPTS, value: {{ .Values.datapath.javaOptions | quote }}}
      # After SIGTERM, serve on until the next datapath pod has taken the interface over (java only).
      - {name: WIREMESH_WG_HANDOVER_WAIT, value: {{ .Values.datapath.handoverSeconds | quote }}}
      {{- if .Values.datapath.metricsPort }}
      # Drop counters by reason, peers, under-load (java only): a handshake flood is visible here.
      - {name: WIREMESH_WG_METRICS, value: {{ printf "0.0.0.0:%v" .Values.datapath.metricsPort | quote }}}
      {{- end }}
    # Fails while the node-daemon, the datapath's one UAPI client, finds it hanging (every request it sends is bounded; it marks
    # /var/run/wireguard/IFNAME.unresponsive when one took no answer and removes the mark at the next answer): the kubelet restarts
    # a datapath that accepts on its socket but answers nothing. No client and no JVM in the probe itself.
    livenessProbe:
      exec:
        command: [/bin/sh, -c, {{ printf "test ! -e /var/run/wireguard/%s.unresponsive" .Values.nodeDaemon.interface | quote }}]
      periodSeconds: 10
      failureThreshold: 3
    securityContext:
      capabilities: {drop: [ALL], add: [NET_ADMIN]}
    resources: {{- toYaml (index .Values.datapath.resources .Values.datapath.implementation) | nindent 6 }}
    volumeMounts:
      - {name: dev-tun, mountPath: /dev/net/tun}
      - {name: run-wireguard, mountPath: /var/run/wireguard}
volumes:
  - {name: dev-tun, hostPath: {path: /dev/net/tun, type: CharDevice}}
  - {name: run-wireguard, hostPath: {path: /var/run/wireguard, type: DirectoryOrCreate}}
{{- end }}
