export { faxService, FAX_RECEIVED_DURABLE, VOICEMAIL_RECEIVED_DURABLE } from './service.js';
export { convertTiffToPdf, ConversionError, type ConvertedFax } from './convert.js';
