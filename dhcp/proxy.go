package dhcp

import (
	"log/slog"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// handleProxy answers a DHCPDISCOVER on port 67 with a proxy offer: boot
// information, no address. Everything else on 67 is the site DHCP
// server's business.
func (s *Server) handleProxy(req *dhcpv4.DHCPv4, c client, log *slog.Logger) (*dhcpv4.DHCPv4, string, error) {
	if req.MessageType() != dhcpv4.MessageTypeDiscover {
		return nil, "", nil
	}
	a, reason := s.boot(c)
	if reason != "" {
		s.Metrics.ignored(reason)
		if reason != reasonNotPXE {
			log.Info("dhcp: PXE client not answered", "reason", reason, "arch", c.code)
		}
		return nil, "", nil
	}
	resp, err := s.reply(req, dhcpv4.MessageTypeOffer, s.withBoot(req, a))
	if err != nil {
		return nil, "", err
	}
	s.Metrics.boot(a.kind)
	log.Info("dhcp: proxy offer", "boot", a.file, "client", a.kind)
	return resp, "dhcp:offer", nil
}

// handlePXE answers a request to the PXE boot server port (4011) with a
// DHCPACK carrying the boot file, in both modes.
func (s *Server) handlePXE(req *dhcpv4.DHCPv4, c client, log *slog.Logger) (*dhcpv4.DHCPv4, string, error) {
	switch req.MessageType() {
	case dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
	default:
		s.Metrics.ignored("message_type")
		return nil, "", nil
	}
	a, reason := s.boot(c)
	if reason != "" {
		s.Metrics.ignored(reason)
		return nil, "", nil
	}
	resp, err := s.reply(req, dhcpv4.MessageTypeAck, s.withBoot(req, a),
		dhcpv4.WithClientIP(req.ClientIPAddr))
	if err != nil {
		return nil, "", err
	}
	s.Metrics.boot(a.kind)
	log.Info("dhcp: boot server ack", "boot", a.file, "client", a.kind)
	return resp, "dhcp:ack", nil
}
