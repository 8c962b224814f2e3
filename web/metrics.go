package web

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descMachines = prometheus.NewDesc("pxelator_machines", "Machines in the store.", nil, nil)
	descUp       = prometheus.NewDesc("pxelator_machines_up", "Machines that answer pings, as the monitor last saw them.", nil, nil)
	descDown     = prometheus.NewDesc("pxelator_machines_down", "Machines that do not answer pings and are not expected down by their schedule, as the monitor last saw them.", nil, nil)
	descPower    = prometheus.NewDesc("pxelator_web_power_actions_total", "Power actions done through the web handler, by action and result.", []string{"action", "result"}, nil)
)

// Describe implements prometheus.Collector.
func (h *Handler) Describe(ch chan<- *prometheus.Desc) {
	ch <- descMachines
	ch <- descUp
	ch <- descDown
	ch <- descPower
}

// Collect implements prometheus.Collector: the machines of the store,
// those up and down when there is a Monitor, and the power actions done
// through h.
func (h *Handler) Collect(ch chan<- prometheus.Metric) {
	if h.Store != nil {
		if all, err := h.Store.List(context.Background()); err == nil {
			ch <- prometheus.MustNewConstMetric(descMachines, prometheus.GaugeValue, float64(len(all)))
			if h.Monitor != nil {
				up, down := h.upDown(all)
				ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, float64(up))
				ch <- prometheus.MustNewConstMetric(descDown, prometheus.GaugeValue, float64(down))
			}
		}
	}
	for i, a := range powerActions {
		ch <- prometheus.MustNewConstMetric(descPower, prometheus.CounterValue, float64(h.counts.ok[i].Load()), a, "ok")
		ch <- prometheus.MustNewConstMetric(descPower, prometheus.CounterValue, float64(h.counts.failed[i].Load()), a, "error")
	}
}
