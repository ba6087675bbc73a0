import { billingV1 } from '@switchboard/proto';
import type { PortalContext } from '../../context.js';
import { PortalError } from '../../errors.js';
import { translator } from '../../i18n.js';
import { render } from '../../render.js';
import { api, type PortalPage } from '../../routes.js';
import { berlinMonth, formatCents, monthName, monthsBack, MONTH_PATTERN } from '../usage/format.js';
import { invoiceMessages } from './messages.js';

const ROLES = ['admin', 'finance', 'operator'] as const;
/** Invoices listed: the twelve months before the current one (a month is invoiced after it ended). */
const MONTHS_LISTED = 12;

function monthParam(c: PortalContext): string {
  const month = c.req.param('month') ?? '';
  if (!MONTH_PATTERN.test(month)) {
    throw new PortalError(400, 'error.invalid', { reason: `${month} (JJJJ-MM)` }, `month ${month} is not YYYY-MM`);
  }
  return month;
}

/** The invoices of the last twelve months, newest first (billing has one per closed month). */
async function recentInvoices(c: PortalContext): Promise<billingV1.Invoice[]> {
  const billing = api(c).billing;
  const months = monthsBack(berlinMonth(c.var.deps.now()), MONTHS_LISTED + 1).slice(1);
  const invoices = await Promise.all(
    months.map((month) =>
      billing.getInvoice({ tenantId: c.var.tenantId, month }).then(
        (response) => response.invoice,
        (error: unknown) => {
          if (error instanceof PortalError && error.status === 404) return undefined;
          throw error;
        },
      ),
    ),
  );
  return invoices.filter((invoice): invoice is billingV1.Invoice => !!invoice);
}

const DOCUMENTS = {
  pdf: billingV1.DocumentKind.DOCUMENT_KIND_PDF,
  xrechnung: billingV1.DocumentKind.DOCUMENT_KIND_XRECHNUNG,
} as const;

const date = (c: PortalContext, at: Date | string | undefined) => {
  if (!at) return '';
  const value = typeof at === 'string' ? new Date(`${at}T12:00:00Z`) : at;
  return new Intl.DateTimeFormat(c.var.language === 'de' ? 'de-DE' : 'en-GB', {
    timeZone: 'Europe/Berlin',
    dateStyle: 'medium',
  }).format(value);
};

export const invoicesPage: PortalPage = {
  name: 'invoices',
  nav: { path: '/rechnungen', label: { de: invoiceMessages.de.label, en: invoiceMessages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/rechnungen',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(invoiceMessages, c.var.language);
        const language = c.var.language;
        const invoices = await recentInvoices(c);
        return render(c, {
          title: t('title'),
          body: (
            <>
              <p>{t('intro')}</p>
              {invoices.length ? (
                <table>
                  <caption>{t('caption')}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t('month')}</th>
                      <th scope="col">{t('number')}</th>
                      <th scope="col">{t('issued')}</th>
                      <th scope="col">{t('net')}</th>
                      <th scope="col">{t('vat')}</th>
                      <th scope="col">{t('gross')}</th>
                      <th scope="col">{t('documents')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {invoices.map((invoice) => (
                      <tr>
                        <th scope="row">{monthName(invoice.month, language)}</th>
                        <td>
                          {invoice.invoiceNumber}
                          {invoice.documentType === billingV1.DocumentType.DOCUMENT_TYPE_CREDIT_NOTE
                            ? ` (${t('creditNote')})`
                            : ''}
                        </td>
                        <td>{date(c, invoice.issuedAt)}</td>
                        <td>{formatCents(invoice.netCents, language)}</td>
                        <td>{formatCents(invoice.vatCents, language)}</td>
                        <td>{formatCents(invoice.grossCents, language)}</td>
                        <td class="actions">
                          <a
                            href={`/rechnungen/${invoice.month}/pdf`}
                            aria-label={t('pdfOf', { number: invoice.invoiceNumber })}
                          >
                            {t('pdf')}
                          </a>
                          <a
                            href={`/rechnungen/${invoice.month}/xrechnung`}
                            aria-label={t('xrechnungOf', { number: invoice.invoiceNumber })}
                          >
                            {t('xrechnung')}
                          </a>
                          <a
                            href={`/rechnungen/${invoice.month}`}
                            aria-label={t('detailsOf', { number: invoice.invoiceNumber })}
                          >
                            {t('details')}
                          </a>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p>{t('none')}</p>
              )}
            </>
          ),
        });
      },
    },
    {
      method: 'GET',
      path: '/rechnungen/:month',
      allow: ROLES,
      handler: async (c) => {
        const t = translator(invoiceMessages, c.var.language);
        const language = c.var.language;
        const { invoice } = await api(c).billing.getInvoice({ tenantId: c.var.tenantId, month: monthParam(c) });
        if (!invoice) throw new PortalError(404, 'error.notFound');
        const number = invoice.invoiceNumber;
        return render(c, {
          title: t('invoiceTitle', { number, month: monthName(invoice.month, language) }),
          body: (
            <>
              <p>
                {t('period', {
                  from: date(c, invoice.periodStart),
                  to: date(c, invoice.periodEnd),
                  due: date(c, invoice.dueDate),
                })}
              </p>
              <p class="actions">
                <a href={`/rechnungen/${invoice.month}/pdf`}>{t('pdfOf', { number })}</a>
                <a href={`/rechnungen/${invoice.month}/xrechnung`}>{t('xrechnungOf', { number })}</a>
              </p>
              <h2>{t('lines')}</h2>
              <table>
                <caption>{t('linesCaption', { number })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('description')}</th>
                    <th scope="col">{t('quantity')}</th>
                    <th scope="col">{t('amount')}</th>
                  </tr>
                </thead>
                <tbody>
                  {invoice.lines.map((line) => (
                    <tr>
                      <td>{line.description}</td>
                      <td>
                        {new Intl.NumberFormat(language === 'de' ? 'de-DE' : 'en-GB', {
                          maximumFractionDigits: 3,
                        }).format(Number(line.quantityMilli) / 1000)}
                      </td>
                      <td>{formatCents(line.netCents, language)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>{t('allocation')}</h2>
              <table>
                <caption>{t('allocationCaption', { number })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('site')}</th>
                    <th scope="col">{t('net')}</th>
                    <th scope="col">{t('vat')}</th>
                    <th scope="col">{t('gross')}</th>
                  </tr>
                </thead>
                <tbody>
                  {invoice.allocation.map((share) => (
                    <tr>
                      <th scope="row">{share.siteName || share.siteId}</th>
                      <td>{formatCents(share.netCents, language)}</td>
                      <td>{formatCents(share.vatCents, language)}</td>
                      <td>{formatCents(share.grossCents, language)}</td>
                    </tr>
                  ))}
                  <tr>
                    <th scope="row">{t('total')}</th>
                    <td>{formatCents(invoice.netCents, language)}</td>
                    <td>{formatCents(invoice.vatCents, language)}</td>
                    <td>{formatCents(invoice.grossCents, language)}</td>
                  </tr>
                </tbody>
              </table>
              <p>
                <a href="/rechnungen">{t('back')}</a>
              </p>
            </>
          ),
        });
      },
    },
    ...(['pdf', 'xrechnung'] as const).map((kind) => ({
      method: 'GET' as const,
      path: `/rechnungen/:month/${kind}`,
      allow: ROLES,
      handler: async (c: PortalContext) => {
        const document = await api(c).billing.getInvoiceDocument({
          tenantId: c.var.tenantId,
          month: monthParam(c),
          kind: DOCUMENTS[kind],
        });
        c.header('Content-Type', document.contentType);
        c.header('Content-Disposition', `attachment; filename="${document.fileName.replace(/["\\\r\n]/g, '_')}"`);
        return c.body(new Uint8Array(document.content));
      },
    })),
    {
      method: 'GET',
      path: '/api/invoices',
      allow: ROLES,
      handler: async (c) => c.json({ invoices: await recentInvoices(c) }),
    },
  ],
};
