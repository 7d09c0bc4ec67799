package engine

import (
	"fmt"
	"strings"
	"time"
)

// TopProductsMax is how many best-selling products a sales report lists.
const TopProductsMax = 5

// SalesReport sums up one UTC day of orders: every order created that day
// counts in Orders; those paid (payment_status paid, whatever their
// fulfilment status now) count in PaidOrders, Revenue and TopProducts.
type SalesReport struct {
	Day         time.Time      // midnight UTC of the day reported
	Orders      int64          // orders created that day
	PaidOrders  int64          // of which paid
	Revenue     []Money        // sum of paid totals, one entry per currency, by currency
	TopProducts []ProductSales // up to TopProductsMax, most units first, then by product id
}

// ProductSales is one product's paid sales in a report.
type ProductSales struct {
	ProductID ID
	SKU       string
	Name      string
	Units     int64
	Revenue   Money
}

// ReportDay returns the day a report run at now covers: yesterday, UTC.
func ReportDay(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC)
}

// ReportMail renders report r for the admin at to.
func ReportMail(r SalesReport, to string) Mail {
	day := r.Day.UTC().Format(time.DateOnly)
	var b strings.Builder
	fmt.Fprintf(&b, "Sales report for %s (UTC)\n\n", day)
	fmt.Fprintf(&b, "Orders placed: %d\nOrders paid:   %d\n", r.Orders, r.PaidOrders)
	if len(r.Revenue) == 0 {
		b.WriteString("Revenue:       0\n")
	}
	for _, m := range r.Revenue {
		fmt.Fprintf(&b, "Revenue:       %s\n", FormatMoney(m))
	}
	b.WriteString("\nTop products by units sold:\n")
	if len(r.TopProducts) == 0 {
		b.WriteString("  (none)\n")
	}
	for i, p := range r.TopProducts {
		fmt.Fprintf(&b, "  %d. %s (%s): %d units, %s\n", i+1, p.Name, p.SKU, p.Units, FormatMoney(p.Revenue))
	}
	return Mail{Kind: MailDailyReport, Key: string(MailDailyReport) + ":" + day, To: []string{to},
		Subject: "Sales report " + day, Text: b.String()}
}
