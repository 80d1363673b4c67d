import { defineDoctorSuite } from './doctor-suite.ts';

defineDoctorSuite('2.1');
