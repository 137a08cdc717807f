package dhcp

import (
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the DHCP server's Prometheus metrics. A nil *Metrics counts
// nothing. Labels are bounded: message types, ports, architectures and
// reasons, never a MAC.
type Metrics struct {
	requests   *prometheus.CounterVec
	replies    *prometheus.CounterVec
	boots      *prometheus.CounterVec
	unanswered *prometheus.CounterVec
}

// NewMetrics registers the DHCP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "dhcp", Name: "requests_total",
			Help: "DHCP requests received, by message type and port (67 or 4011).",
		}, []string{"type", "port"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "dhcp", Name: "replies_total",
			Help: "DHCP replies sent, by message type.",
		}, []string{"type"}),
		boots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "dhcp", Name: "boot_answers_total",
			Help: "Boot files handed out, by client kind (bios, efi64, arm64, ..., ipxe, http-<arch>).",
		}, []string{"client"}),
		unanswered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "provisiond", Subsystem: "dhcp", Name: "ignored_total",
			Help: "DHCP packets not answered, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.replies, m.boots, m.unanswered)
	return m
}

func msgLabel(mt dhcpv4.MessageType) string {
	switch mt {
	case dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeOffer, dhcpv4.MessageTypeRequest,
		dhcpv4.MessageTypeDecline, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak,
		dhcpv4.MessageTypeRelease, dhcpv4.MessageTypeInform:
		return strings.ToLower(mt.String())
	}
	return "other"
}

func (m *Metrics) request(mt dhcpv4.MessageType, pxePort bool) {
	if m == nil {
		return
	}
	port := "67"
	if pxePort {
		port = "4011"
	}
	m.requests.WithLabelValues(msgLabel(mt), port).Inc()
}

func (m *Metrics) reply(mt dhcpv4.MessageType) {
	if m != nil {
		m.replies.WithLabelValues(msgLabel(mt)).Inc()
	}
}

func (m *Metrics) boot(kind string) {
	if m != nil {
		m.boots.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) ignored(reason string) {
	if m != nil {
		m.unanswered.WithLabelValues(reason).Inc()
	}
}
