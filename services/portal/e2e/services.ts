import * as grpc from '@grpc/grpc-js';
import { billingV1, directoryServiceV1, directoryV1, ratingServiceV1 } from '@switchboard/proto';
import type { Stack } from '@switchboard/stack';

// What a test prepares behind the portal's back, as the provider would with `sb`: a second
// tenant, a billing profile, a closed month. The portal itself is only ever driven in the browser.

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

async function call<Req, Res>(client: grpc.Client, method: Unary<Req, Res>, request: Req, token: string): Promise<Res> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    method.call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

/** A second tenant with one site, created by the provider's operator. */
export async function createOtherTenant(stack: Stack, tenantId: string, siteName: string): Promise<void> {
  const client = new directoryServiceV1.DirectoryServiceClient(
    stack.grpcAddress('directory'),
    grpc.credentials.createInsecure(),
  );
  try {
    const token = await stack.token({ role: 'operator', tenantId: '*' });
    await call(
      client,
      client.createTenant,
      {
        tenantId,
        tenant: directoryV1.Tenant.fromPartial({ tenantId, name: `Gemeinde ${tenantId}`, federalState: 'SH' }),
      },
      token,
    );
    await call(
      client,
      client.createSite,
      {
        tenantId,
        site: directoryV1.Site.fromPartial({
          siteId: 'rathaus',
          name: siteName,
          kind: 'town-hall',
          municipality: siteName,
          address: { street: 'Markt 1', postalCode: '24000', city: siteName },
          headcount: 3,
        }),
      },
      token,
    );
  } finally {
    client.close();
  }
}

/**
 * The tenant's billing profile (two sites, allocation by headcount, a monthly fee and a one-off
 * item in `month`) and `month` closed into an invoice.
 */
export async function invoiceMonth(stack: Stack, month: string): Promise<billingV1.Invoice> {
  const client = new billingV1.BillingServiceClient(stack.grpcAddress('billing'), grpc.credentials.createInsecure());
  try {
    const token = await stack.token();
    await call(
      client,
      client.setBillingProfile,
      {
        tenantId: stack.tenantId,
        profile: billingV1.BillingProfile.fromPartial({
          tenantId: stack.tenantId,
          buyer: {
            name: 'Amt Kropp-Stapelholm',
            address: { street: 'Norderstraße 7', postalCode: '24848', city: 'Kropp', countryCode: 'DE' },
            leitwegId: '01058040-0001-88',
            email: 'rechnung@amt-kropp.example',
          },
          sites: [
            { id: 'amt-kropp', name: 'Amtsverwaltung Kropp-Stapelholm', headcount: 24 },
            { id: 'bauhof-kropp', name: 'Bauhof Kropp', headcount: 6 },
          ],
          voicePackagePrice: '299000',
          recurringFees: [{ code: 'number', description: 'Rufnummernblock', quantity: 12, unitPrice: '50000' }],
          oneOffItems: [{ month, description: 'Einrichtung Portal', quantity: 1, unitPrice: '1500000' }],
          allocation: { method: billingV1.AllocationMethod.ALLOCATION_METHOD_HEADCOUNT, overrides: [] },
        }),
      },
      token,
    );
    const { invoice } = await call<billingV1.CloseMonthRequest, billingV1.CloseMonthResponse>(
      client,
      client.closeMonth,
      { tenantId: stack.tenantId, month },
      token,
    );
    if (!invoice) throw new Error(`billing closed ${month} without an invoice`);
    return invoice;
  } finally {
    client.close();
  }
}

/** A tariff with `packages` voice packages from the start of the year (what the usage page shows). */
export async function bookPackages(stack: Stack, packages: number): Promise<void> {
  const client = new ratingServiceV1.RatingServiceClient(
    stack.grpcAddress('rating'),
    grpc.credentials.createInsecure(),
  );
  try {
    await call<ratingServiceV1.SetTariffRequest, ratingServiceV1.SetTariffResponse>(
      client,
      client.setTariff,
      {
        tenantId: stack.tenantId,
        tariff: ratingServiceV1.Tariff.fromPartial({
          tariffId: 'kommunal',
          validFrom: '2026-01-01',
          packages,
          prices: [
            { destinationClass: 'de-fixed', pricePerMinute: '150', firstIncrementSeconds: 60, nextIncrementSeconds: 1 },
            {
              destinationClass: 'de-mobile',
              pricePerMinute: '900',
              firstIncrementSeconds: 60,
              nextIncrementSeconds: 1,
            },
          ],
          flags: { internalFree: true, forwardingFree: false, inboundFree: true },
        }),
      },
      await stack.token(),
    );
  } finally {
    client.close();
  }
}
