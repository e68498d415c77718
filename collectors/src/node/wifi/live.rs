//! The live nl80211 client (placeholder while the generic netlink path is written).

use super::{Bss, Interface, StationInfo, WifiStater};
use crate::CollectError;

pub struct Client;

impl Client {
    pub fn open() -> Result<Self, CollectError> {
        Err(CollectError::NoData(
            "wifi collector metrics are not available for this system".into(),
        ))
    }
}

impl WifiStater for Client {
    fn interfaces(&mut self) -> Result<Vec<Interface>, CollectError> {
        Ok(Vec::new())
    }
    fn bss(&mut self, _: &Interface) -> Result<Option<Bss>, CollectError> {
        Ok(None)
    }
    fn stations(&mut self, _: &Interface) -> Result<Option<Vec<StationInfo>>, CollectError> {
        Ok(None)
    }
}
