/**
 * Bluetooth LE scales as a device kind: enrolled by address (sealed; found again through a keyed
 * blind index), read from their adverts or GATT indications by the BLE reader.
 */
import { EnrolmentError, type DeviceKindPlugin } from '../kind.js';
import { nicknameProblem } from '../registry.js';
import { SCALE_KIND, ScaleService } from './service.js';
import { BODY_METRICS, normalizeBleAddress, SCALE_ADDRESS, SCALE_ADDRESS_INDEX, ScaleStore } from './store.js';

export const scaleKind: DeviceKindPlugin = {
  kind: SCALE_KIND,
  idPrefix: 'scale',
  label: 'scale',
  enrolmentFields: { address: 'the Bluetooth address, AA:BB:CC:DD:EE:FF', nickname: 'a name for the scale, e.g. "Bathroom"' },
  enrolmentArgs: ['address', 'nickname'],
  enrolmentSummary: 'enrol a Bluetooth scale by its address (AA:BB:CC:DD:EE:FF)',
  describeEnrolment: (deviceId) => [`scale enrolled: ${deviceId} (a running hub starts listening for it at once)`],
  sealedColumns: [SCALE_ADDRESS, BODY_METRICS],
  blindIndexes: [SCALE_ADDRESS_INDEX],

  async prepareEnrolment(input, { store }) {
    const address = typeof input.address === 'string' ? normalizeBleAddress(input.address) : undefined;
    if (!address) throw new EnrolmentError('the address must look like AA:BB:CC:DD:EE:FF');
    const nickname = typeof input.nickname === 'string' ? input.nickname.trim() : undefined;
    if (nickname === undefined) throw new EnrolmentError('nickname is required');
    const problem = nicknameProblem(nickname);
    if (problem) throw new EnrolmentError(problem);
    const scales = new ScaleStore(store.db, store.sealer);
    return {
      nickname,
      lookupTag: scales.lookupTag(address),
      writeRows: (s, deviceId) => new ScaleStore(s.db, s.sealer).writeAddress(deviceId, address),
      duplicateMessage: 'a scale with this address is already enrolled',
    };
  },

  details(store, deviceId) {
    const scales = new ScaleStore(store.db, store.sealer);
    const battery = scales.battery(deviceId);
    return { online: null, lastSeen: scales.lastSeen(deviceId), eventCounts: scales.eventCounts(deviceId), fields: { battery: battery?.percent ?? null, batteryAt: battery?.at ?? null } };
  },

  setup(ctx) {
    return ctx.config.ble.enabled ? new ScaleService(ctx) : undefined;
  },
};
